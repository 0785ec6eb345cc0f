//! The analytics queries (targets, action lists, eligible lists, subsidy
//! totals, communities, households), free of any wire format: the gRPC
//! `TargetsService` (`grpc/analytics.rs`) and the dashboard's JSON API
//! (`http/`) are thin adapters over the same functions, so both answer with
//! the same parameters, defaults, as-of semantics and checks.
//!
//! Each query takes the request's fields as the client sent them (text, as
//! both wires carry them), parses them all (every bad field is reported at
//! once), checks the area against the caller's [`Gate`] before touching the
//! read model, and runs on the current read-model generation in one read
//! transaction, off the async threads.

mod prepared;
mod wait;

pub use prepared::prepare_city_dashboard;

use chrono::{Datelike, NaiveDate};
use leye_domain::{person::PersonGroup, values::parse_date};
use leye_projections::{
    Jurisdiction, Period, ReadModel, TargetParams,
    read_model::{EligibleRow, HouseholdView, SubsidyTotalRow, TargetReport},
    runner::ReadModelDir,
    targets::{CommunityRow, ExitReview, ListPage, LongTerm, Matchmaker, Overdue},
};

use crate::{
    access::{Denied, Gate},
    cases::Clock,
};

pub use wait::{Bound, Progress, Wait};

/// Largest page a list query returns.
pub const MAX_PAGE: u32 = 1000;
/// Page size when the request gives none (0).
pub const DEFAULT_PAGE: u32 = 100;

/// One bad request field and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub rule: String,
}

/// Why a query is not answered. Each wire maps it once (gRPC status, HTTP status and JSON).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Every bad field of the request (`INVALID_ARGUMENT`, HTTP 400).
    #[error("invalid request")]
    Invalid(Vec<Violation>),
    /// The area or household is outside the caller's jurisdiction.
    #[error(transparent)]
    Denied(Denied),
    /// Nothing to show (a household nobody had joined by the date).
    #[error("{0}")]
    NotFound(&'static str),
    /// The read model is not built yet, or cannot be read (details logged).
    #[error("{0}")]
    Unavailable(&'static str),
    /// The read model had not reached the request's `min_position` at the
    /// first bound (`UNAVAILABLE` for the server's, `DEADLINE_EXCEEDED` for the call's).
    #[error(
        "the read model has reached log position {reached}, not min_position {wanted}, within {bound} (a query that wakes a sleeping read model waits for the log's head)"
    )]
    NotReached { wanted: u64, reached: u64, bound: Bound },
}

/// Collects every violation of a request.
#[derive(Debug, Default)]
struct Fields(Vec<Violation>);

impl Fields {
    fn bad(&mut self, field: &str, rule: impl Into<String>) {
        self.0.push(Violation { field: field.to_string(), rule: rule.into() });
    }

    fn take<T, E: std::fmt::Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        parsed.map_err(|e| self.bad(field, e.to_string())).ok()
    }

    fn into_error(self) -> QueryError {
        QueryError::Invalid(self.0)
    }
}

/// An area over a period: targets, subsidy totals, communities.
#[derive(Debug, Clone, Copy, Default)]
pub struct AreaQuery<'a> {
    /// Empty for the city, or a district, street or community code.
    pub jurisdiction: &'a str,
    pub period_from: &'a str,
    pub period_to: &'a str,
    /// Empty: the end of the period, or today if that is earlier.
    pub as_of: &'a str,
    /// The log position to wait for (read your own writes).
    pub wait: Wait,
}

/// A page of a list: size (0 = [`DEFAULT_PAGE`]) and the token of a previous answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageQuery<'a> {
    pub size: u32,
    pub token: &'a str,
}

/// `ListEligible` (政策找人).
#[derive(Debug, Clone, Copy, Default)]
pub struct EligibleQuery<'a> {
    pub jurisdiction: &'a str,
    /// Empty: every programme.
    pub programme: &'a str,
    /// Empty: today.
    pub as_of: &'a str,
    pub page: PageQuery<'a>,
    /// The log position to wait for (read your own writes).
    pub wait: Wait,
}

/// The action lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionList {
    LongTermUnemployed,
    ZeroEmploymentHouseholds,
    OverdueFollowUp,
    MatchmakerBreaches,
    ExitReview,
    UnservedBatchLayoffs,
}

impl ActionList {
    pub const ALL: [Self; 6] = [
        Self::LongTermUnemployed,
        Self::ZeroEmploymentHouseholds,
        Self::OverdueFollowUp,
        Self::MatchmakerBreaches,
        Self::ExitReview,
        Self::UnservedBatchLayoffs,
    ];

    /// The list's name (the protobuf enum value without `ACTION_LIST_`, lower case).
    pub fn name(self) -> &'static str {
        match self {
            Self::LongTermUnemployed => "long_term_unemployed",
            Self::ZeroEmploymentHouseholds => "zero_employment_households",
            Self::OverdueFollowUp => "overdue_follow_up",
            Self::MatchmakerBreaches => "matchmaker_breaches",
            Self::ExitReview => "exit_review",
            Self::UnservedBatchLayoffs => "unserved_batch_layoffs",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == name.trim())
    }
}

/// `ListActions`.
#[derive(Debug, Clone, Default)]
pub struct ActionsQuery<'a> {
    /// The list, or the rule the request's value breaks.
    pub list: Option<Result<ActionList, String>>,
    pub jurisdiction: &'a str,
    pub as_of: &'a str,
    /// A person group (e.g. `graduate_unemployed_after_school`); empty: all.
    pub group: &'a str,
    /// Both empty: the month of `as_of` (the 12 months up to it for batch layoffs).
    pub period_from: &'a str,
    pub period_to: &'a str,
    pub page: PageQuery<'a>,
    /// The log position to wait for (read your own writes).
    pub wait: Wait,
}

/// One row of an action list; which fields are set depends on the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ActionItem {
    pub case_id: String,
    pub household_id: String,
    pub communities: Vec<String>,
    pub registered_on: String,
    pub ended_on: String,
    pub days: i64,
    pub status: String,
    pub last_contact_on: String,
    pub reference_date: String,
    pub same_day_contact: bool,
    pub two_way_in_time: bool,
    pub layoff_id: String,
    pub people: u32,
    pub reported_on: String,
    pub missing_services: Vec<String>,
}

/// A page of a list, with the token of the next one (empty on the last page).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: usize,
    pub next_page_token: String,
    /// The read model's position (global log) the answer was read at.
    pub checkpoint: u64,
}

/// The analytics queries over the read model's current generation.
#[derive(Clone)]
pub struct Analytics {
    dir: ReadModelDir,
    params: TargetParams,
    clock: Clock,
    /// The projector's progress, when it runs in this process.
    progress: Option<Progress>,
}

impl std::fmt::Debug for Analytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analytics").field("dir", &self.dir).finish_non_exhaustive()
    }
}

pub fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn opt_date(d: Option<NaiveDate>) -> String {
    d.map(date).unwrap_or_default()
}

/// A group name as the read model stores it, checked against the domain's groups.
fn check_group(raw: &str) -> Result<Option<String>, String> {
    let g = raw.trim();
    if g.is_empty() {
        return Ok(None);
    }
    serde_json::from_value::<PersonGroup>(serde_json::Value::String(g.to_string()))
        .map(|_| Some(g.to_string()))
        .map_err(|_| "is not a known person group (e.g. graduate_unemployed_after_school)".to_string())
}

/// A programme code as the catalogue and grants spell it: `[a-z0-9-]`, 1 to 64.
fn check_programme(raw: &str) -> Result<Option<String>, String> {
    let p = raw.trim();
    if p.is_empty() {
        return Ok(None);
    }
    if p.len() <= 64 && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        Ok(Some(p.to_string()))
    } else {
        Err("must be lowercase letters, digits and '-', 1 to 64 characters".to_string())
    }
}

/// Page size and offset of a list request.
fn check_page(f: &mut Fields, page: PageQuery<'_>) -> (u32, Option<usize>) {
    let size = match page.size {
        0 => DEFAULT_PAGE,
        n if n <= MAX_PAGE => n,
        _ => {
            f.bad("page_size", format!("must be at most {MAX_PAGE}"));
            DEFAULT_PAGE
        }
    };
    let offset = if page.token.is_empty() {
        Some(0usize)
    } else {
        // A token is the offset of a page's first row: no list is near
        // u32::MAX rows, so a larger number was never a previous page's.
        f.take(
            "page_token",
            page.token.parse::<u32>().map(|o| o as usize).map_err(|_| "is not a token from a previous page"),
        )
    };
    (size, offset)
}

fn next_token(offset: usize, shown: usize, total: usize) -> String {
    let next = offset.saturating_add(shown);
    if next < total { next.to_string() } else { String::new() }
}

/// Times a query runs again because a rebuild switched the generation under it.
const GENERATION_RETRIES: usize = 3;

/// How long a query waits before running again on a generation a rebuild
/// switched to while it was still behind `min_position`.
const BEHIND_RETRY: std::time::Duration = std::time::Duration::from_millis(10);

impl Analytics {
    pub fn new(dir: ReadModelDir, params: TargetParams, clock: Clock) -> Self {
        Self { dir, params, clock, progress: None }
    }

    /// Lets queries wait for the projector reporting on `progress` (`min_position`).
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    pub fn today(&self) -> NaiveDate {
        leye_domain::beijing_date((self.clock)())
    }

    /// [`prepare_city_dashboard`] on today, with this service's parameters.
    pub fn prepare_city_dashboard(&self, rm: &ReadModel) -> Result<usize, leye_projections::ProjectionError> {
        prepare_city_dashboard(rm, self.today(), &self.params)
    }

    /// Runs `query` on the current generation, off the async threads, once
    /// the projector has reached `wait.min_position`: the answer and the read
    /// model's position, read in the same snapshot (never below `min_position`).
    ///
    /// A rebuild may switch `CURRENT` and remove the old generation's files
    /// between this query reading `CURRENT` and reading the file it names:
    /// when a query fails and `CURRENT` names another generation by then, it
    /// runs again on that one (a few times at most). A rebuild while serving
    /// may also switch to a generation not yet as far as the projector had
    /// reported: the query then runs again, every [`BEHIND_RETRY`], until that
    /// generation has caught up or the wait's bound (the same one) runs out.
    async fn query<T: Send + 'static>(
        &self,
        wait: Wait,
        query: impl Fn(&ReadModel) -> Result<T, leye_projections::ProjectionError> + Send + Sync + 'static,
    ) -> Result<(T, u64), QueryError> {
        let query = std::sync::Arc::new(query);
        let end = self.progress.as_ref().map(|p| p.end_of(wait));
        let min_position = match &self.progress {
            Some(progress) => progress.wanted(wait.min_position).await,
            None => wait.min_position,
        };
        loop {
            if let (Some(progress), Some(end)) = (&self.progress, end) {
                progress.wait_until(min_position, end).await?;
            }
            match self.query_once(query.clone()).await {
                Ok((_, reached)) if reached < min_position => {
                    let (until, bound) = end.unwrap_or((std::time::Instant::now(), Bound::Server));
                    if std::time::Instant::now() + BEHIND_RETRY < until {
                        tokio::time::sleep(BEHIND_RETRY).await;
                        continue;
                    }
                    return Err(QueryError::NotReached { wanted: min_position, reached, bound });
                }
                answer => return answer,
            }
        }
    }

    /// One run of a query on the current generation (see [`Self::query`]).
    async fn query_once<T: Send + 'static>(
        &self,
        query: std::sync::Arc<
            impl Fn(&ReadModel) -> Result<T, leye_projections::ProjectionError> + Send + Sync + 'static,
        >,
    ) -> Result<(T, u64), QueryError> {
        let dir = self.dir.clone();
        let ran = tokio::task::spawn_blocking(move || {
            let mut switched = 0;
            loop {
                let path = dir.current()?;
                let answer = ReadModel::open(&path).and_then(|rm| rm.snapshot(|rm| Ok((query(rm)?, rm.checkpoint()?))));
                match answer {
                    Err(e) if switched < GENERATION_RETRIES && dir.current().is_ok_and(|now| now != path) => {
                        switched += 1;
                        tracing::debug!(error = %e, db = %path.display(), "the generation switched under a query; again on the new one");
                    }
                    answer => return answer,
                }
            }
        })
        .await;
        match ran {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(leye_projections::ProjectionError::NotReady)) => {
                Err(QueryError::Unavailable("the read model is not built yet"))
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "read-model query failed");
                Err(QueryError::Unavailable("the read model is unavailable"))
            }
            Err(e) => {
                tracing::error!(error = %e, "read-model query task failed");
                Err(QueryError::Unavailable("the read model is unavailable"))
            }
        }
    }

    /// The `as_of` of a list: the given date, or today.
    fn as_of_or_today(&self, f: &mut Fields, raw: &str) -> Option<NaiveDate> {
        if raw.trim().is_empty() { Some(self.today()) } else { f.take("as_of", parse_date(raw)) }
    }

    /// Jurisdiction, period and as-of date of an area request; the area is
    /// checked against the caller's jurisdiction once every field parsed.
    fn check_area(&self, gate: &Gate, q: AreaQuery<'_>) -> Result<(Jurisdiction, Period, NaiveDate), QueryError> {
        let mut f = Fields::default();
        let j = f.take("jurisdiction", Jurisdiction::parse(q.jurisdiction));
        let from = f.take("period_from", parse_date(q.period_from));
        let to = f.take("period_to", parse_date(q.period_to));
        let period = match (from, to) {
            (Some(from), Some(to)) => f.take("period_to", Period::new(from, to)),
            _ => None,
        };
        let as_of = if q.as_of.trim().is_empty() {
            period.map(|p| p.default_as_of(self.today()))
        } else {
            f.take("as_of", parse_date(q.as_of))
        };
        match (j, period, as_of, f.0.is_empty()) {
            (Some(j), Some(p), Some(a), true) => {
                gate.check_area(j.code()).map_err(QueryError::Denied)?;
                Ok((j, p, a))
            }
            _ => Err(f.into_error()),
        }
    }

    /// `GetTargets`: the report and the read model's position.
    pub async fn targets(&self, gate: &Gate, q: AreaQuery<'_>) -> Result<(TargetReport, u64), QueryError> {
        let (j, period, as_of) = self.check_area(gate, q)?;
        let params = self.params.clone();
        self.query(q.wait, move |rm| rm.targets(&j, period, as_of, &params)).await
    }

    /// `ListSubsidyTotals`, and the read model's position.
    pub async fn subsidy_totals(
        &self,
        gate: &Gate,
        q: AreaQuery<'_>,
    ) -> Result<(Vec<SubsidyTotalRow>, u64), QueryError> {
        let (j, period, as_of) = self.check_area(gate, q)?;
        self.query(q.wait, move |rm| rm.subsidy_totals(&j, period, as_of)).await
    }

    /// `ListCommunities` (the period is checked; the figures are on `as_of`),
    /// and the read model's position.
    pub async fn communities(&self, gate: &Gate, q: AreaQuery<'_>) -> Result<(Vec<CommunityRow>, u64), QueryError> {
        let (j, _, as_of) = self.check_area(gate, q)?;
        self.query(q.wait, move |rm| rm.communities(&j, as_of)).await
    }

    /// `ListEligible`.
    pub async fn eligible(&self, gate: &Gate, q: EligibleQuery<'_>) -> Result<Page<EligibleRow>, QueryError> {
        let mut f = Fields::default();
        let j = f.take("jurisdiction", Jurisdiction::parse(q.jurisdiction));
        let programme = f.take("programme", check_programme(q.programme));
        let as_of = self.as_of_or_today(&mut f, q.as_of);
        let (size, offset) = check_page(&mut f, q.page);
        let (Some(j), Some(programme), Some(a), Some(offset), true) = (j, programme, as_of, offset, f.0.is_empty())
        else {
            return Err(f.into_error());
        };
        gate.check_area(j.code()).map_err(QueryError::Denied)?;
        let (page, checkpoint) =
            self.query(q.wait, move |rm| rm.eligible(&j, programme.as_deref(), a, offset, size as usize)).await?;
        Ok(Page {
            next_page_token: next_token(offset, page.rows.len(), page.total),
            total: page.total,
            checkpoint,
            items: page.rows,
        })
    }

    /// `GetHousehold`: one household on a date, reached through the places
    /// of its members on that date.
    pub async fn household(
        &self,
        gate: &Gate,
        household_id: &str,
        as_of: &str,
        wait: Wait,
    ) -> Result<(HouseholdView, u64), QueryError> {
        let mut f = Fields::default();
        let household_id = f.take(
            "household_id",
            uuid::Uuid::parse_str(household_id.trim()).map_err(|_| "must be a UUID (the household's id)"),
        );
        let as_of = self.as_of_or_today(&mut f, as_of);
        let (Some(household_id), Some(a), true) = (household_id, as_of, f.0.is_empty()) else {
            return Err(f.into_error());
        };
        let ((view, places), checkpoint) = self
            .query(wait, move |rm| {
                let view = rm.household(&household_id.to_string(), a)?;
                // Reached through its members on `a` only: one who has left
                // (or not yet joined) opens no door to the household.
                let members: Vec<String> = view
                    .iter()
                    .flat_map(|v| v.members.iter().filter(|m| m.member_on_as_of).map(|m| m.case_id.clone()))
                    .collect();
                Ok((view, rm.person_places(&members)?))
            })
            .await?;
        let Some(v) = view else {
            return Err(QueryError::NotFound("no member had joined this household by as_of"));
        };
        let reached = places.iter().any(|(district, street, community)| {
            gate.principal().covers(district, Some(street.as_str()), Some(community.as_str()))
        });
        if !reached {
            return Err(QueryError::Denied(gate.deny(Denied::OutOfJurisdiction)));
        }
        Ok((v, checkpoint))
    }

    /// `ListActions`.
    pub async fn actions(&self, gate: &Gate, q: ActionsQuery<'_>) -> Result<Page<ActionItem>, QueryError> {
        let mut f = Fields::default();
        let list = match q.list {
            None => {
                f.bad("list", "is required");
                None
            }
            Some(Err(rule)) => {
                f.bad("list", rule);
                None
            }
            Some(Ok(l)) => Some(l),
        };
        let j = f.take("jurisdiction", Jurisdiction::parse(q.jurisdiction));
        let as_of = self.as_of_or_today(&mut f, q.as_of);
        let group = f.take("group", check_group(q.group));
        let (size, offset) = check_page(&mut f, q.page);
        let period = match as_of {
            Some(a) if q.period_from.is_empty() && q.period_to.is_empty() => {
                let first = if list == Some(ActionList::UnservedBatchLayoffs) {
                    // The 12 months up to as_of.
                    a.checked_sub_months(chrono::Months::new(12)).and_then(|d| d.succ_opt()).unwrap_or(a)
                } else {
                    NaiveDate::from_ymd_opt(a.year(), a.month(), 1).unwrap_or(a)
                };
                Some(Period { from: first, to: a })
            }
            _ => {
                let from = f.take("period_from", parse_date(q.period_from));
                let to = f.take("period_to", parse_date(q.period_to));
                match (from, to) {
                    (Some(from), Some(to)) => f.take("period_to", Period::new(from, to)),
                    _ => None,
                }
            }
        };
        let (Some(list), Some(j), Some(a), Some(group), Some(offset), Some(period), true) =
            (list, j, as_of, group, offset, period, f.0.is_empty())
        else {
            return Err(f.into_error());
        };
        gate.check_area(j.code()).map_err(QueryError::Denied)?;
        let params = self.params.clone();
        let ((items, total), checkpoint) = self
            .query(q.wait, move |rm| {
                let w = ListWindow { group: group.as_deref(), offset, size: size as usize };
                action_page(rm, list, &j, period, a, &params, w)
            })
            .await?;
        Ok(Page { next_page_token: next_token(offset, items.len(), total), total, checkpoint, items })
    }
}

/// Which rows of an action list to return.
#[derive(Debug, Clone, Copy)]
struct ListWindow<'a> {
    /// Only the persons carrying this group (on the lists of persons; not on
    /// households, not on enterprises' layoffs).
    group: Option<&'a str>,
    offset: usize,
    size: usize,
}

/// A page of `list` and how many rows the whole list holds. The lists of
/// persons are paged by the read model (only the page's rows are named);
/// the others are whole lists, paged here.
fn action_page(
    rm: &ReadModel,
    list: ActionList,
    j: &Jurisdiction,
    period: Period,
    a: NaiveDate,
    params: &TargetParams,
    w: ListWindow<'_>,
) -> Result<(Vec<ActionItem>, usize), leye_projections::ProjectionError> {
    fn items<R>(page: ListPage<R>, item: impl Fn(R) -> ActionItem) -> (Vec<ActionItem>, usize) {
        (page.rows.into_iter().map(item).collect(), page.total)
    }
    let whole = |all: Vec<ActionItem>| {
        let total = all.len();
        (all.into_iter().skip(w.offset).take(w.size).collect(), total)
    };
    let (group, offset, size) = (w.group, w.offset, w.size);
    Ok(match list {
        ActionList::LongTermUnemployed => {
            items(rm.list_page(&LongTerm::new(a, params), j, a, group, offset, size)?, |r| ActionItem {
                case_id: r.case_id,
                communities: vec![r.community],
                registered_on: date(r.registered_on),
                ended_on: opt_date(r.ended_on),
                days: r.days,
                status: r.status.into(),
                reference_date: date(r.long_term_from),
                ..Default::default()
            })
        }
        ActionList::ZeroEmploymentHouseholds => whole(
            rm.zero_employment_households(j, a, params)?
                .into_iter()
                .map(|h| ActionItem {
                    household_id: h.household_id,
                    communities: h.communities,
                    days: h.days_outstanding,
                    status: if h.overdue { "overdue" } else { "within_deadline" }.into(),
                    reference_date: date(h.identified_on),
                    ..Default::default()
                })
                .collect(),
        ),
        ActionList::OverdueFollowUp => {
            let list = Overdue::new(a, params.followup_month_start_day);
            items(rm.list_page(&list, j, a, group, offset, size)?, |r| ActionItem {
                case_id: r.case_id,
                communities: vec![r.community],
                registered_on: date(r.registered_on),
                last_contact_on: opt_date(r.last_contact_on),
                reference_date: date(r.missed_month_start),
                ..Default::default()
            })
        }
        ActionList::MatchmakerBreaches => {
            let list = Matchmaker { period, a, days: params.recommendation_days };
            items(rm.list_page(&list, j, a, group, offset, size)?, |r| ActionItem {
                case_id: r.case_id,
                communities: vec![r.community],
                registered_on: date(r.registered_on),
                same_day_contact: r.same_day_contact,
                two_way_in_time: r.two_way_in_time,
                ..Default::default()
            })
        }
        ActionList::UnservedBatchLayoffs => whole(
            rm.unserved_layoffs(j, period, a, params)?
                .into_iter()
                .map(|l| ActionItem {
                    days: (a - l.reported_on).num_days(),
                    case_id: l.case_id,
                    communities: vec![l.district],
                    status: if l.overdue { "overdue" } else { "within_deadline" }.into(),
                    reference_date: date(l.deadline),
                    layoff_id: l.layoff_id,
                    people: l.people,
                    reported_on: date(l.reported_on),
                    missing_services: l.missing.into_iter().map(String::from).collect(),
                    ..Default::default()
                })
                .collect(),
        ),
        ActionList::ExitReview => {
            let list = ExitReview::new(a, params.exit_review_months);
            items(rm.list_page(&list, j, a, group, offset, size)?, |r| ActionItem {
                case_id: r.case_id,
                communities: vec![r.community],
                registered_on: date(r.registered_on),
                last_contact_on: opt_date(r.last_contact_on),
                ..Default::default()
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_list_parses_from_its_name_and_nothing_else_does() {
        for l in ActionList::ALL {
            assert_eq!(ActionList::parse(l.name()), Some(l));
        }
        assert_eq!(ActionList::parse("ACTION_LIST_EXIT_REVIEW"), None);
        assert_eq!(ActionList::parse(""), None);
    }

    /// The race CI once caught: a query had read `CURRENT` and opened the
    /// generation it named when a rebuild switched and removed that
    /// generation's files; its first read failed with SQLite's "disk I/O
    /// error" (the WAL index gone). Here the switch happens at that moment,
    /// every time, and the query's first read fails in the same way (an
    /// I/O error, as SQLite gave: the open now reads the file's format first,
    /// so the removed files no longer fail a read by themselves); the answer
    /// comes from the new generation.
    #[tokio::test]
    async fn a_query_whose_generation_is_switched_and_removed_under_it_answers_from_the_new_one() {
        use std::sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        };
        let tmp = tempfile::tempdir().unwrap();
        let dir = ReadModelDir::new(tmp.path().join("rm"));
        let old = dir.current_or_init().unwrap();
        let new = dir.next_path().unwrap();
        drop(leye_projections::Projector::open(&new).unwrap());
        let clock: crate::cases::Clock = Arc::new(chrono::Utc::now);
        let analytics = Analytics::new(dir.clone(), TargetParams::default(), clock);
        let runs = Arc::new(AtomicUsize::new(0));
        let (seen, switch) = (runs.clone(), (dir.clone(), new.clone()));
        let (answer, _) = analytics
            .query(Wait::default(), move |rm| {
                if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                    // A rebuild finishing right now: switch, then prune the old files.
                    switch.0.switch_to(&switch.1)?;
                    assert_eq!(switch.0.prune()?, 1);
                    let io = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR);
                    return Err(rusqlite::Error::SqliteFailure(io, Some("disk I/O error".into())).into());
                }
                rm.checkpoint()
            })
            .await
            .unwrap();
        assert_eq!(answer, 0);
        assert_eq!(runs.load(Ordering::SeqCst), 2, "once on the removed generation, once on the new one");
        assert!(!old.exists() && dir.current().unwrap() == new);
    }
}
