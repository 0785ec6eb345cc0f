//! Queries over the read model: the targets and the action lists.
//!
//! The person-case figures and lists come from the in-memory index of this
//! generation ([`crate::index`], the first read of a snapshot); the others
//! (one household's view, enterprise figures, enterprise grants, eligible
//! lists) select rows by jurisdiction and date in SQL. Either way the
//! figures are computed by the pure functions in [`crate::targets`], so the
//! arithmetic is tested without a database and the database only filters.

use std::{collections::HashMap, path::Path, sync::Arc};

use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;

mod enterprises;
mod volumes;

pub use crate::index::IndexStats;

use enterprises::enterprise_level;

use crate::{
    ProjectionError,
    index::{CaseIndex, SharedIndex},
    targets::{
        self, BudgetKind, CommunityRow, ContextFigure, ExitReview, ExitReviewRow, Jurisdiction, LayoffRow, Level,
        ListPage, LongTerm, LongTermRow, Matchmaker, MatchmakerRow, Overdue, OverdueRow, Period, SpellList,
        TargetParams, TargetValue, UnservedLayoffRow, Window, count_of, rate_of,
    },
};

/// A read-only view of the read-model database.
#[derive(Debug)]
pub struct ReadModel {
    conn: Connection,
    /// The person-case index of this generation, shared in the process.
    index: Arc<SharedIndex>,
}

/// Grants and fen by (programme, year granted, district).
type GrantTotals = std::collections::BTreeMap<(String, i32, String), (i64, i64)>;

/// Person-case grants of `j` granted in `period`, not revoked by `a`, named.
fn person_grants(ix: &CaseIndex, j: &Jurisdiction, period: Period, a: NaiveDate) -> GrantTotals {
    let f = ix.facts(j);
    named_grants(ix, targets::grant_totals(&f, &ix.cases_in(&f), period, a))
}

/// Grant totals with their programme and district codes.
fn named_grants(ix: &CaseIndex, totals: std::collections::BTreeMap<(u16, i32, u16), (i64, i64)>) -> GrantTotals {
    totals
        .into_iter()
        .map(|((programme, year, district), t)| {
            ((ix.label_of(programme).to_string(), year, ix.label_of(district).to_string()), t)
        })
        .collect()
}

/// What the person-case walk of a report over `period` as of `a` is asked,
/// with `years` its [`budget_years`]: also the key of its kept sums, so made
/// in one place.
fn ask_of(period: Period, a: NaiveDate, years: &[(i32, Period)], p: &TargetParams) -> targets::Ask {
    targets::Ask { period, a, years: years.iter().map(|(_, y)| *y).collect(), params: p.clone() }
}

/// The calendar years of the budgets of `j` a report over `period` shows.
fn budget_years(j: &Jurisdiction, period: Period, p: &TargetParams) -> Vec<(i32, Period)> {
    let mut years = std::collections::BTreeSet::new();
    for b in p.budget.iter().filter(|b| b.jurisdiction == j.code()) {
        let range = match b.year {
            Some(y) => y..=y,
            None => period.from.year()..=period.to.year(),
        };
        years.extend(range.filter(|y| b.covers(*y)));
    }
    years
        .into_iter()
        .filter_map(|y| {
            let (first, last) = (NaiveDate::from_ymd_opt(y, 1, 1)?, NaiveDate::from_ymd_opt(y, 12, 31)?);
            Some((y, Period::new(first, last).ok()?))
        })
        .collect()
}

/// The person-case figures of a report, from the index.
pub(crate) struct PersonFigures {
    /// The walk's figures; its numbered grants are moved to `grants` and
    /// `grants_by_year`, named.
    pub(crate) totals: targets::PersonTotals,
    /// Person-case grants in the period, and in each budget year.
    grants: GrantTotals,
    grants_by_year: HashMap<i32, GrantTotals>,
    zero_employment_households: usize,
}

/// Every target for one jurisdiction, period and as-of date.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub jurisdiction: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub as_of: NaiveDate,
    pub targets: Vec<TargetValue>,
    /// Grants against the configured annual amounts of this jurisdiction.
    pub budgets: Vec<BudgetLine>,
    /// Configured outside figures for this jurisdiction, as given.
    pub context: Vec<ContextFigure>,
}

/// Grants of a year against a configured annual amount.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetLine {
    pub id: String,
    pub title: String,
    pub year: i32,
    /// Granted in that year up to the as-of date, not revoked by it.
    pub granted_fen: i64,
    pub amount_fen: i64,
    pub kind: BudgetKind,
    /// granted / amount.
    pub share: f64,
    pub source: String,
}

/// A zero-employment household not yet cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HouseholdRow {
    pub household_id: String,
    pub identified_on: NaiveDate,
    /// First day of the current stretch without an employed member.
    pub since: NaiveDate,
    /// Days from `since` to the as-of date.
    pub days_outstanding: i64,
    pub overdue: bool,
    /// Communities its members live in (a household may span districts).
    pub communities: Vec<String>,
}

/// One household (家庭) on an as-of date: a projection over its members' cases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HouseholdView {
    pub household_id: String,
    pub as_of: NaiveDate,
    /// Every membership known on `as_of`, in the order joined.
    pub members: Vec<HouseholdMember>,
    pub status: targets::HouseholdStatus,
}

/// One membership of a household, by pseudonymous case id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HouseholdMember {
    pub case_id: String,
    pub relation: String,
    pub joined_on: NaiveDate,
    /// `None` while a member on `as_of` (a later leave is not known yet).
    pub left_on: Option<NaiveDate>,
    pub member_on_as_of: bool,
    /// Employed on `as_of` (start inclusive, end exclusive): a placement
    /// current, or the spell closed by an exit as employed and no
    /// registration since ([`crate::facts::CaseView::employment`]).
    pub employed_on_as_of: bool,
}

/// Subsidies granted, by programme, year and district.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubsidyTotalRow {
    pub programme: String,
    pub year: i32,
    pub district: String,
    pub grants: i64,
    pub amount_fen: i64,
}

/// A person found eligible for a programme (政策找人), and not in receipt of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EligibleRow {
    pub case_id: String,
    /// `person` or `enterprise`.
    pub case_kind: String,
    pub rule_id: String,
    pub rule_valid_from: NaiveDate,
    pub programme: String,
    pub clause: String,
    /// JSON array of `{check, detail, clause}`: the checks that passed.
    pub reasons: String,
    pub amount_fen: Option<i64>,
    pub found_on: NaiveDate,
    pub district: String,
    pub community: String,
}

/// One page of [`EligibleRow`]s and the size of the whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligiblePage {
    pub rows: Vec<EligibleRow>,
    pub total: usize,
}

fn date(s: String) -> rusqlite::Result<NaiveDate> {
    day(&s)
}

/// An ISO `YYYY-MM-DD` date as the projector writes them (parsed by hand:
/// queries read millions of them, and chrono's format parser is the slower
/// part of a row).
pub(crate) fn day(s: &str) -> rusqlite::Result<NaiveDate> {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| {
        b.get(from..to)?.iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let parsed = (b.len() == 10 && b[4] == b'-' && b[7] == b'-')
        .then(|| NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?))
        .flatten();
    parsed.ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, format!("not a date: {s:?}").into())
    })
}

/// Column `i` of `r` as text, borrowed (no allocation).
pub(crate) fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    r.get_ref(i)?
        .as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}

fn opt_date(s: Option<String>) -> rusqlite::Result<Option<NaiveDate>> {
    s.map(date).transpose()
}

/// An end date known on `a`: later ends have not happened yet.
fn known(end: Option<NaiveDate>, a: NaiveDate) -> Option<NaiveDate> {
    end.filter(|e| *e <= a)
}

impl ReadModel {
    /// Opens the database read-only (analysts' tools may open it the same way).
    pub fn open(path: &Path) -> Result<Self, ProjectionError> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        crate::projector::check_format(&conn)?;
        Ok(Self { conn, index: SharedIndex::of(path) })
    }

    /// Runs `f` in one read transaction: every statement it makes sees the
    /// same committed state, so figures and checkpoint agree even while the
    /// projector commits.
    pub fn snapshot<T, E: From<rusqlite::Error>>(&self, f: impl FnOnce(&Self) -> Result<T, E>) -> Result<T, E> {
        self.conn.execute_batch("BEGIN DEFERRED")?;
        let result = f(self);
        // A read transaction has nothing to keep: ending it cannot lose data.
        let ended = self.conn.execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" });
        let value = result?;
        ended?;
        Ok(value)
    }

    /// Cases carrying `group` since on or before `a`.
    pub fn with_group(&self, group: &str, a: NaiveDate) -> Result<std::collections::HashSet<String>, ProjectionError> {
        let mut stmt = self.conn.prepare_cached("SELECT case_id FROM person_group WHERE grp = ?1 AND since <= ?2")?;
        let rows = stmt.query_map(params![group, a.to_string()], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Runs `f` on the person-case index at this snapshot's checkpoint (in a
    /// read transaction of its own when the caller has none).
    fn indexed<T>(&self, f: impl FnOnce(&CaseIndex) -> Result<T, ProjectionError>) -> Result<T, ProjectionError> {
        if self.conn.is_autocommit() {
            self.snapshot(|rm| rm.index.with(&rm.conn, f))
        } else {
            self.index.with(&self.conn, f)
        }
    }

    /// [`CaseIndex::dates_by_case`] at this snapshot's checkpoint: for
    /// tests comparing an index kept up to date with one loaded whole.
    #[doc(hidden)]
    pub fn index_dates_by_case(&self) -> Result<Vec<String>, ProjectionError> {
        self.indexed(|ix| Ok(ix.dates_by_case()))
    }

    /// What the person-case index of this generation holds, at this
    /// snapshot's checkpoint (loading or refreshing it first).
    pub fn index_stats(&self) -> Result<IndexStats, ProjectionError> {
        if self.conn.is_autocommit() {
            self.snapshot(|rm| rm.index.stats(&rm.conn))
        } else {
            self.index.stats(&self.conn)
        }
    }

    /// The floor of a city-wide query: one walk over every case of the index,
    /// reading each case's spells (how many open on `a`). Benchmarks print it
    /// beside the targets as the raw limit of this design.
    pub fn index_walk(&self, a: NaiveDate) -> Result<usize, ProjectionError> {
        self.indexed(|ix| Ok(ix.walk(a)))
    }

    /// A page of a person list on `a` ([`targets::SpellList`]): `size`
    /// rows from `offset`, of the persons carrying `group` since on or
    /// before `a` when given; and how many rows the list holds.
    #[allow(clippy::too_many_arguments)]
    pub fn list_page<L: SpellList + Sync>(
        &self,
        list: &L,
        j: &Jurisdiction,
        a: NaiveDate,
        group: Option<&str>,
        offset: usize,
        size: usize,
    ) -> Result<ListPage<L::Row>, ProjectionError>
    where
        L::Key: Send,
    {
        self.indexed(|ix| {
            // Read in the index's snapshot (the index was its first read).
            let members = group.map(|g| self.with_group(g, a)).transpose()?;
            let keep = members.map(|m| ix.case_set(m.iter().map(String::as_str)));
            let f = ix.facts(j);
            let cases = ix.cases_in(&f);
            Ok(list.page_of_cases(&f, &cases, a, Window { offset, size, cases: keep.as_ref() }))
        })
    }

    /// The long-term unemployed and at-risk list on `a`.
    pub fn long_term(
        &self,
        j: &Jurisdiction,
        a: NaiveDate,
        p: &TargetParams,
    ) -> Result<Vec<LongTermRow>, ProjectionError> {
        Ok(self.list_page(&LongTerm::new(a, p), j, a, None, 0, usize::MAX)?.rows)
    }

    /// Persons overdue for monthly follow-up on `a`.
    pub fn overdue_followups(
        &self,
        j: &Jurisdiction,
        a: NaiveDate,
        p: &TargetParams,
    ) -> Result<Vec<OverdueRow>, ProjectionError> {
        Ok(self.list_page(&Overdue::new(a, p.followup_month_start_day), j, a, None, 0, usize::MAX)?.rows)
    }

    /// Registrations to consider for exit on `a`.
    pub fn exit_review(
        &self,
        j: &Jurisdiction,
        a: NaiveDate,
        p: &TargetParams,
    ) -> Result<Vec<ExitReviewRow>, ProjectionError> {
        Ok(self.list_page(&ExitReview::new(a, p.exit_review_months), j, a, None, 0, usize::MAX)?.rows)
    }

    /// Matchmaker breaches for registrations in `period`, as of `a`.
    pub fn matchmaker_breaches(
        &self,
        j: &Jurisdiction,
        period: Period,
        a: NaiveDate,
        p: &TargetParams,
    ) -> Result<Vec<MatchmakerRow>, ProjectionError> {
        let list = Matchmaker { period, a, days: p.recommendation_days };
        Ok(self.list_page(&list, j, a, None, 0, usize::MAX)?.rows)
    }

    /// Employment per community on `a`.
    pub fn communities(&self, j: &Jurisdiction, a: NaiveDate) -> Result<Vec<CommunityRow>, ProjectionError> {
        self.indexed(|ix| {
            let f = ix.facts(j);
            Ok(targets::communities(&f, &ix.cases_in(&f), a))
        })
    }

    /// Zero-employment households (零就业家庭) not cleared on `a`, as
    /// [`targets::household_status`] defines them from membership periods: a
    /// person counts only while a member. A household belongs to every
    /// jurisdiction one of its members on `a` lives in.
    pub fn zero_employment_households(
        &self,
        j: &Jurisdiction,
        a: NaiveDate,
        p: &TargetParams,
    ) -> Result<Vec<HouseholdRow>, ProjectionError> {
        self.indexed(|ix| Ok(ix.zero_employment_households(&ix.facts(j), a, p)))
    }

    /// One household on `a`: its members (every membership known on `a`) and
    /// its zero-employment status. `None` when nobody had joined it by `a`.
    pub fn household(&self, household_id: &str, a: NaiveDate) -> Result<Option<HouseholdView>, ProjectionError> {
        let (mut members, signals, employment) =
            self.household_rows("SELECT ?1", params![household_id, a.to_string()], a)?;
        let Some(members) = members.remove(household_id) else { return Ok(None) };
        let status = targets::household_status(&members, &signals, &employment, a);
        let employed = |case_id: &str| {
            employment.get(case_id).is_some_and(|v| v.iter().any(|(s, e)| *s <= a && e.is_none_or(|e| e > a)))
        };
        Ok(Some(HouseholdView {
            household_id: household_id.to_string(),
            as_of: a,
            members: members
                .iter()
                .map(|m| HouseholdMember {
                    case_id: m.case_id.clone(),
                    relation: m.relation.clone(),
                    joined_on: m.joined_on,
                    left_on: m.left_on,
                    member_on_as_of: m.member_on(a),
                    employed_on_as_of: employed(&m.case_id),
                })
                .collect(),
            status,
        }))
    }

    /// Memberships (by household), zero-employment signals and employment
    /// (by case: placements, and exits as employed until the next
    /// registration, as [`crate::facts::CaseView::employment`]) of the
    /// households `households` selects (SQL with `?1`, `?2` = `a`), as known on `a`.
    #[allow(clippy::type_complexity)]
    fn household_rows(
        &self,
        households: &str,
        args: impl rusqlite::Params + Clone,
        a: NaiveDate,
    ) -> Result<
        (
            std::collections::BTreeMap<String, Vec<targets::MemberRow>>,
            HashMap<String, Vec<NaiveDate>>,
            HashMap<String, Vec<(NaiveDate, Option<NaiveDate>)>>,
        ),
        ProjectionError,
    > {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT m.household_id, m.case_id, m.relation, m.joined_on, m.left_on,
                    coalesce((SELECT s.community FROM spell s WHERE s.case_id = m.case_id AND s.registered_on <= ?2
                              ORDER BY s.registered_on DESC, s.spell_no DESC LIMIT 1), p.community)
             FROM household_membership m JOIN person p USING (case_id)
             WHERE m.joined_on <= ?2 AND m.household_id IN ({households})
             ORDER BY m.household_id, m.joined_on, m.case_id, m.membership_no"
        ))?;
        let mut members: std::collections::BTreeMap<String, Vec<targets::MemberRow>> = Default::default();
        let mut rows = stmt.query(args.clone())?;
        while let Some(r) = rows.next()? {
            let row = targets::MemberRow {
                household_id: r.get(0)?,
                case_id: r.get(1)?,
                relation: r.get(2)?,
                joined_on: date(r.get(3)?)?,
                left_on: known(opt_date(r.get(4)?)?, a),
                community: r.get(5)?,
            };
            members.entry(row.household_id.clone()).or_default().push(row);
        }
        let cases = format!(
            "SELECT case_id FROM household_membership WHERE joined_on <= ?2 AND household_id IN ({households})"
        );
        let mut signals: HashMap<String, Vec<NaiveDate>> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT case_id, recognised_on FROM difficulty
             WHERE zero_employment = 1 AND recognised_on <= ?2 AND case_id IN ({cases})
             UNION ALL
             SELECT case_id, registered_on FROM spell
             WHERE zero_employment_group = 1 AND registered_on <= ?2 AND case_id IN ({cases})"
        ))?;
        let mut rows = stmt.query(args.clone())?;
        while let Some(r) = rows.next()? {
            signals.entry(r.get(0)?).or_default().push(date(r.get(1)?)?);
        }
        let mut employment: HashMap<String, Vec<(NaiveDate, Option<NaiveDate>)>> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT case_id, started_on, ended_on FROM placement WHERE started_on <= ?2 AND case_id IN ({cases})
             UNION ALL
             SELECT s.case_id, s.ended_on,
                    (SELECT n.registered_on FROM spell n WHERE n.case_id = s.case_id AND n.spell_no = s.spell_no + 1)
             FROM spell s
             WHERE s.end_kind = 'exited' AND s.exit_reason = 'employed' AND s.ended_on <= ?2 AND s.case_id IN ({cases})"
        ))?;
        let mut rows = stmt.query(args)?;
        while let Some(r) = rows.next()? {
            employment.entry(r.get(0)?).or_default().push((date(r.get(1)?)?, known(opt_date(r.get(2)?)?, a)));
        }
        Ok((members, signals, employment))
    }

    /// Subsidies granted in `period` (not revoked by `a`), by programme, year
    /// and district: grants on person cases of `j`, and, for the city and a
    /// district, grants on enterprise cases of `j` (an enterprise has no street
    /// or community).
    pub fn subsidy_totals(
        &self,
        j: &Jurisdiction,
        period: Period,
        a: NaiveDate,
    ) -> Result<Vec<SubsidyTotalRow>, ProjectionError> {
        if self.conn.is_autocommit() {
            return self.snapshot(|rm| rm.subsidy_totals(j, period, a));
        }
        let totals = self.index.with(&self.conn, |ix| Ok(person_grants(ix, j, period, a)))?;
        self.with_enterprise_grants(totals, j, period, a)
    }

    /// `totals` (person-case grants) with the grants on enterprise cases of
    /// `j` added (city and district), as [`Self::subsidy_totals`] rows.
    fn with_enterprise_grants(
        &self,
        mut totals: GrantTotals,
        j: &Jurisdiction,
        period: Period,
        a: NaiveDate,
    ) -> Result<Vec<SubsidyTotalRow>, ProjectionError> {
        // Enterprise-case grants (city and district): few, from SQL.
        if enterprise_level(j) {
            let e = period.to.min(a);
            let mut stmt = self.conn.prepare_cached(
                "SELECT programme, CAST(substr(granted_on, 1, 4) AS INTEGER), district, count(*), sum(amount_fen)
                 FROM enterprise_subsidy
                 WHERE district >= ?1 AND district < ?1 || '~' AND granted_on >= ?2 AND granted_on <= ?3
                   AND (revoked_on IS NULL OR revoked_on > ?4)
                 GROUP BY 1, 2, 3",
            )?;
            let args = params![j.code(), period.from.to_string(), e.to_string(), a.to_string()];
            let mut rows = stmt.query(args)?;
            while let Some(r) = rows.next()? {
                let t = totals.entry((r.get(0)?, r.get(1)?, r.get(2)?)).or_default();
                t.0 += r.get::<_, i64>(3)?;
                t.1 += r.get::<_, i64>(4)?;
            }
        }
        Ok(totals
            .into_iter()
            .map(|((programme, year, district), (grants, amount_fen))| SubsidyTotalRow {
                programme,
                year,
                district,
                grants,
                amount_fen,
            })
            .collect())
    }

    /// 政策找人: persons in `j` found eligible on or before `a` for a programme
    /// (only `programme` when given) that they have not received: no grant of
    /// it dated on or before `a` and not revoked by `a`. Ordered by the day
    /// found, then case and rule; `offset` and `limit` page the list.
    pub fn eligible(
        &self,
        j: &Jurisdiction,
        programme: Option<&str>,
        a: NaiveDate,
        offset: usize,
        limit: usize,
    ) -> Result<EligiblePage, ProjectionError> {
        const OPEN: &str = "FROM eligibility e
             WHERE e.community >= ?1 AND e.community < ?1 || '~' AND e.found_on <= ?2 AND (?3 IS NULL OR e.programme = ?3)
               AND NOT EXISTS (
                   SELECT 1 FROM subsidy s
                   WHERE s.case_id = e.case_id AND s.programme = e.programme AND s.granted_on <= ?2
                     AND (s.revoked_on IS NULL OR s.revoked_on > ?2))
               AND NOT EXISTS (
                   SELECT 1 FROM enterprise_subsidy s
                   WHERE s.case_id = e.case_id AND s.programme = e.programme AND s.granted_on <= ?2
                     AND (s.revoked_on IS NULL OR s.revoked_on > ?2))";
        let a = a.to_string();
        let total: i64 = self
            .conn
            .prepare_cached(&format!("SELECT count(*) {OPEN}"))?
            .query_row(params![j.code(), a, programme], |r| r.get(0))?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT e.case_id, e.rule_id, e.rule_valid_from, e.programme, e.clause, e.reasons, e.amount_fen,
                    e.found_on, e.district, e.community, e.case_kind
             {OPEN}
             ORDER BY e.found_on, e.case_id, e.rule_id LIMIT ?4 OFFSET ?5"
        ))?;
        let rows = stmt.query_map(
            params![
                j.code(),
                a,
                programme,
                i64::try_from(limit).unwrap_or(i64::MAX),
                i64::try_from(offset).unwrap_or(i64::MAX)
            ],
            |r| {
                Ok(EligibleRow {
                    case_id: r.get(0)?,
                    rule_id: r.get(1)?,
                    rule_valid_from: date(r.get(2)?)?,
                    programme: r.get(3)?,
                    clause: r.get(4)?,
                    reasons: r.get(5)?,
                    amount_fen: r.get(6)?,
                    found_on: date(r.get(7)?)?,
                    district: r.get(8)?,
                    community: r.get(9)?,
                    case_kind: r.get(10)?,
                })
            },
        )?;
        Ok(EligiblePage { rows: rows.collect::<Result<_, _>>()?, total: total as usize })
    }

    /// Every enterprise case in the read model, in case-id order (the policy
    /// finder's daily sweep).
    pub fn enterprise_case_ids(&self) -> Result<Vec<String>, ProjectionError> {
        let mut stmt = self.conn.prepare_cached("SELECT case_id FROM enterprise ORDER BY case_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every person case in the read model, in case-id order (the policy
    /// finder's daily sweep).
    pub fn person_case_ids(&self) -> Result<Vec<String>, ProjectionError> {
        let mut stmt = self.conn.prepare_cached("SELECT case_id FROM person ORDER BY case_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Where persons live now (district, street, community at their latest
    /// registration), for the jurisdiction of a household: one entry per
    /// person of `case_ids` the read model knows.
    pub fn person_places(&self, case_ids: &[String]) -> Result<Vec<(String, String, String)>, ProjectionError> {
        let mut stmt = self.conn.prepare_cached("SELECT district, street, community FROM person WHERE case_id = ?1")?;
        let mut places = Vec::with_capacity(case_ids.len());
        for id in case_ids {
            let mut rows = stmt.query(params![id])?;
            if let Some(row) = rows.next()? {
                places.push((row.get(0)?, row.get(1)?, row.get(2)?));
            }
        }
        Ok(places)
    }

    /// The log position the read model has folded up to.
    pub fn checkpoint(&self) -> Result<u64, ProjectionError> {
        use rusqlite::OptionalExtension;
        let c: Option<i64> =
            self.conn.query_row("SELECT commit_position FROM checkpoint WHERE id = 1", [], |r| r.get(0)).optional()?;
        Ok(c.unwrap_or(0) as u64)
    }

    /// Makes the person-case sums of the report [`Self::targets`] gives for
    /// `j`, `period`, `a` and `p`, and keeps them (the index's kept reports),
    /// unless they are kept already: the reports a dashboard opens with are
    /// prepared so, and their first ask needs no walk. `true` when it walked.
    pub fn prepare_targets(
        &self,
        j: &Jurisdiction,
        period: Period,
        a: NaiveDate,
        p: &TargetParams,
    ) -> Result<bool, ProjectionError> {
        if self.conn.is_autocommit() {
            return self.snapshot(|rm| rm.prepare_targets(j, period, a, p));
        }
        self.index
            .with(&self.conn, |ix| Ok(ix.prepare(&ix.facts(j), j, &ask_of(period, a, &budget_years(j, period, p), p))))
    }

    /// Every target for `j` over `period`, as of `a`.
    pub fn targets(
        &self,
        j: &Jurisdiction,
        period: Period,
        a: NaiveDate,
        p: &TargetParams,
    ) -> Result<TargetReport, ProjectionError> {
        if self.conn.is_autocommit() {
            // Every figure from one snapshot (the index's first of all).
            return self.snapshot(|rm| rm.targets(j, period, a, p));
        }
        // The index first: it must be the first read of this snapshot (see
        // `SharedIndex::with`); everything it gives is computed in this one call.
        let (mut persons, enterprises) = self.index.with(&self.conn, |ix| {
            let f = ix.facts(j);
            let years = budget_years(j, period, p);
            // Every per-case figure from the sums kept for this report, or in
            // one walk over the cases; meanwhile this thread counts the
            // households and reads the enterprises' figures (its connection
            // cannot leave it).
            let ask = ask_of(period, a, &years, p);
            let (mut t, (zero_employment_households, enterprises)) = ix.person_totals(&f, j, &ask, || {
                let households = ix.zero_employment_households(&f, a, p).len();
                let enterprises =
                    if enterprise_level(j) { self.enterprise_targets(j, period, a, p) } else { Ok(Vec::new()) };
                (households, enterprises)
            });
            let persons = PersonFigures {
                grants: named_grants(ix, std::mem::take(&mut t.counts.grants)),
                grants_by_year: years
                    .iter()
                    .map(|(y, _)| *y)
                    .zip(std::mem::take(&mut t.grants_by_year))
                    .map(|(y, g)| (y, named_grants(ix, g)))
                    .collect(),
                zero_employment_households,
                totals: t,
            };
            Ok((persons, enterprises?))
        })?;
        let mut out = Vec::new();

        out.push(rate_of(
            "reemployment_rate",
            "登记失业人员就业率 re-employment rate of registered unemployed",
            persons.totals.reemployment,
            0.9,
            "≥ 90 %",
            "001 § 9",
        ));

        let (lt, at_risk) = persons.totals.long_term;
        out.push(count_of(
            "long_term_unemployed",
            "失业6个月以上 long-term unemployed (2-year look-back)",
            lt,
            lt == 0,
            "0",
            "001 § 9",
        ));
        out.push(count_of(
            "long_term_at_risk",
            "approaching 6 months unemployed (at risk)",
            at_risk,
            true,
            "watch list",
            "001 § 9",
        ));

        let zeh = persons.zero_employment_households;
        out.push(count_of(
            "zero_employment_households_outstanding",
            "零就业家庭 not yet cleared",
            zeh,
            zeh == 0,
            "0",
            "001 § 9, 003 § 14",
        ));

        out.push(rate_of(
            "difficulty_employment_rate",
            "其他就业困难人员就业率 other difficulty persons employed",
            persons.totals.counts.difficulty,
            0.9,
            "≥ 90 %",
            "001 § 9",
        ));
        out.push(rate_of(
            "graduate_service_rate",
            "离校未就业高校毕业生 served at least once",
            persons.totals.graduates_served,
            1.0,
            "100 %",
            "001 § 8",
        ));
        out.push(rate_of(
            "graduate_employment_rate",
            "离校未就业高校毕业生 employment rate",
            persons.totals.graduates_employed,
            0.95,
            "≥ 95 %",
            "001 § 8",
        ));
        out.push(rate_of(
            "monthly_followup_rate",
            "每月跟踪服务 person-months with a contact",
            persons.totals.followup,
            1.0,
            "100 %",
            "000 § 20",
        ));
        out.push(rate_of(
            "matchmaker_same_day_contact_rate",
            "就业红娘 same-day contact",
            persons.totals.same_day,
            1.0,
            "100 %",
            "001 § 14",
        ));
        out.push(rate_of(
            "matchmaker_two_way_rate",
            "就业红娘 two-way recommendation within 3 days",
            persons.totals.two_way,
            1.0,
            "100 %",
            "001 § 14",
        ));
        out.push(rate_of(
            "full_employment_communities",
            "充分就业社区 communities at ≥ 90 % employment",
            persons.totals.full_employment,
            1.0,
            "every community",
            "001 § 10",
        ));

        out.extend(self.welfare_targets(j, period, a, &persons)?);

        let trainees = persons.totals.counts.start_up_trainees;
        out.push(count_of(
            "startup_trainees",
            "马兰花 start-up trainees",
            trainees,
            trainees >= 2500,
            "≥ 2 500 / year",
            "001 § 7",
        ));
        let interns = persons.totals.counts.interns;
        out.push(count_of("interns", "见习 interns placed", interns, interns >= 1000, "≥ 1 000 / year", "001 § 8"));
        out.extend(enterprises);
        out.extend(self.volume_targets(j, period, a, &persons)?);

        // Grants from the index (read first, above) and enterprise grants from SQL, in this snapshot.
        let grants = std::mem::take(&mut persons.grants);
        let granted: i64 = self.with_enterprise_grants(grants, j, period, a)?.iter().map(|r| r.amount_fen).sum();
        out.push(TargetValue {
            id: "subsidy_granted_fen",
            title: "补贴 granted, not revoked (fen)",
            numerator: granted,
            denominator: None,
            value: granted as f64,
            goal: "against budget",
            met: None,
            source: "001 § 4",
        });

        let mut budgets = Vec::new();
        for b in p.budget.iter().filter(|b| b.jurisdiction == j.code()) {
            let years = match b.year {
                Some(y) => y..=y,
                None => period.from.year()..=period.to.year(),
            };
            for y in years.filter(|y| b.covers(*y)) {
                let (Some(first), Some(last)) = (NaiveDate::from_ymd_opt(y, 1, 1), NaiveDate::from_ymd_opt(y, 12, 31))
                else {
                    continue;
                };
                let Ok(year) = Period::new(first, last) else { continue };
                let person = persons.grants_by_year.get(&y).cloned().unwrap_or_default();
                let granted: i64 = self
                    .with_enterprise_grants(person, j, year, a)?
                    .iter()
                    .filter(|r| b.programmes.contains(&r.programme))
                    .map(|r| r.amount_fen)
                    .sum();
                budgets.push(BudgetLine {
                    id: b.id.clone(),
                    title: b.title.clone(),
                    year: y,
                    granted_fen: granted,
                    amount_fen: b.amount_fen,
                    kind: b.kind,
                    share: granted as f64 / b.amount_fen as f64,
                    source: b.source.clone(),
                });
            }
        }
        crate::goals::apply(j, period, a, &mut out);
        Ok(TargetReport {
            jurisdiction: j.code().to_string(),
            period_from: period.from,
            period_to: period.to,
            as_of: a,
            targets: out,
            budgets,
            context: p.context.iter().filter(|c| c.jurisdiction == j.code()).cloned().collect(),
        })
    }
}
