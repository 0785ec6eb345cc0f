//! The analytics gRPC adapter: targets and action lists from the read model.
//! Thin: parse → query the current read-model generation on a blocking thread
//! → map to protobuf.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use leye_domain::{person::PersonGroup, values::parse_date};
use leye_projections::{Jurisdiction, Period, ReadModel, TargetParams, read_model::TargetReport, runner::ReadModelDir};
use leye_proto::analytics::v1::{self as pb, targets_service_server::TargetsService};
use tonic::{Request, Response, Status};

use super::{
    guard::gated,
    status::{Fields, denied},
};
use crate::{
    access::{Denied, Gate},
    cases::Clock,
};

/// The gRPC face of the read model.
#[derive(Clone)]
pub struct AnalyticsApi {
    dir: ReadModelDir,
    params: TargetParams,
    clock: Clock,
}

impl std::fmt::Debug for AnalyticsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalyticsApi").field("dir", &self.dir).finish_non_exhaustive()
    }
}

const MAX_PAGE: u32 = 1000;
const DEFAULT_PAGE: u32 = 100;

impl AnalyticsApi {
    pub fn new(dir: ReadModelDir, params: TargetParams, clock: Clock) -> Self {
        Self { dir, params, clock }
    }

    fn today(&self) -> NaiveDate {
        leye_domain::beijing_date((self.clock)())
    }

    /// Runs `query` on the current generation, off the async threads.
    async fn query<T: Send + 'static>(
        &self,
        query: impl FnOnce(&ReadModel) -> Result<T, leye_projections::ProjectionError> + Send + 'static,
    ) -> Result<T, Status> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let path = dir.current()?;
            let rm = ReadModel::open(&path)?;
            rm.snapshot(query)
        })
        .await
        .map_err(|e| Status::internal(format!("query task failed: {e}")))?
        .map_err(|e| match e {
            leye_projections::ProjectionError::NotReady => Status::unavailable("the read model is not built yet"),
            e => {
                tracing::error!(error = %e, "read-model query failed");
                Status::unavailable("the read model is unavailable")
            }
        })
    }

    /// Jurisdiction, period and as-of date of a figures request.
    /// Checks the area against the caller's jurisdiction (parsed first).
    fn check_targets(&self, gate: &Gate, r: Scope<'_>) -> Result<(Jurisdiction, Period, NaiveDate), Status> {
        let mut f = Fields::new();
        let j = f.take("jurisdiction", Jurisdiction::parse(r.jurisdiction));
        let from = f.take("period_from", parse_date(r.period_from));
        let to = f.take("period_to", parse_date(r.period_to));
        let period = match (from, to) {
            (Some(from), Some(to)) => f.take("period_to", Period::new(from, to)),
            _ => None,
        };
        let as_of = if r.as_of.trim().is_empty() {
            period.map(|p| p.to.min(self.today()))
        } else {
            f.take("as_of", parse_date(r.as_of))
        };
        match (j, period, as_of, f.is_empty()) {
            (Some(j), Some(p), Some(a), true) => {
                gate.check_area(j.code()).map_err(|d| denied(&d))?;
                Ok((j, p, a))
            }
            _ => Err(f.into_status()),
        }
    }
}

/// The fields `GetTargets`, `ListSubsidyTotals` and `ListCommunities` share:
/// each RPC has its own request message, read through this one view.
#[derive(Clone, Copy)]
struct Scope<'a> {
    jurisdiction: &'a str,
    period_from: &'a str,
    period_to: &'a str,
    as_of: &'a str,
}

macro_rules! scope_of {
    ($($request:ty),*) => {$(
        impl<'a> From<&'a $request> for Scope<'a> {
            fn from(r: &'a $request) -> Self {
                Scope { jurisdiction: &r.jurisdiction, period_from: &r.period_from, period_to: &r.period_to, as_of: &r.as_of }
            }
        }
    )*};
}
scope_of!(pb::GetTargetsRequest, pb::ListSubsidyTotalsRequest, pb::ListCommunitiesRequest);

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn opt(d: Option<NaiveDate>) -> String {
    d.map(date).unwrap_or_default()
}

fn report_pb(r: TargetReport, checkpoint: u64) -> pb::GetTargetsResponse {
    pb::GetTargetsResponse {
        budgets: r
            .budgets
            .into_iter()
            .map(|b| pb::BudgetLine {
                id: b.id,
                title: b.title,
                year: b.year,
                granted_fen: b.granted_fen,
                amount_fen: b.amount_fen,
                kind: leye_projections::names::of(&b.kind),
                share: b.share,
                source: b.source,
            })
            .collect(),
        context: r
            .context
            .into_iter()
            .map(|c| pb::ContextFigure {
                id: c.id,
                title: c.title,
                period: c.period,
                value: c.value,
                unit: c.unit,
                source: c.source,
            })
            .collect(),
        jurisdiction: r.jurisdiction,
        period_from: date(r.period_from),
        period_to: date(r.period_to),
        as_of: date(r.as_of),
        checkpoint_position: checkpoint,
        targets: r
            .targets
            .into_iter()
            .map(|t| pb::Target {
                id: t.id.into(),
                title: t.title.into(),
                numerator: t.numerator,
                denominator: t.denominator,
                value: t.value,
                goal: t.goal.into(),
                met: t.met,
                source: t.source.into(),
            })
            .collect(),
    }
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

fn eligible_pb(r: leye_projections::read_model::EligibleRow) -> pb::EligibleItem {
    // Written by the projector from the event's reasons; an unreadable value
    // (never written so) shows as no reasons rather than failing the page.
    let reasons: Vec<leye_domain::person::EligibilityReason> = serde_json::from_str(&r.reasons).unwrap_or_default();
    pb::EligibleItem {
        case_id: r.case_id,
        rule_id: r.rule_id,
        rule_valid_from: date(r.rule_valid_from),
        programme: r.programme,
        clause: r.clause,
        reasons: reasons
            .into_iter()
            .map(|c| pb::EligibleReason { check: c.check, detail: c.detail, clause: c.clause })
            .collect(),
        amount_fen: r.amount_fen,
        found_on: date(r.found_on),
        district: r.district,
        community: r.community,
        case_kind: r.case_kind,
    }
}

#[tonic::async_trait]
impl TargetsService for AnalyticsApi {
    async fn list_eligible(
        &self,
        request: Request<pb::ListEligibleRequest>,
    ) -> Result<Response<pb::ListEligibleResponse>, Status> {
        let (gate, r) = gated(request)?;
        let mut f = Fields::new();
        let j = f.take("jurisdiction", Jurisdiction::parse(&r.jurisdiction));
        let programme = f.take("programme", check_programme(&r.programme));
        let as_of = if r.as_of.trim().is_empty() { Some(self.today()) } else { f.take("as_of", parse_date(&r.as_of)) };
        let page_size = match r.page_size {
            0 => DEFAULT_PAGE,
            n if n <= MAX_PAGE => n,
            _ => {
                f.bad("page_size", format!("must be at most {MAX_PAGE}"));
                DEFAULT_PAGE
            }
        };
        let offset = if r.page_token.is_empty() {
            Some(0usize)
        } else {
            f.take("page_token", r.page_token.parse::<usize>().map_err(|_| "is not a token from a previous page"))
        };
        let (Some(j), Some(programme), Some(a), Some(offset), true) = (j, programme, as_of, offset, f.is_empty())
        else {
            return Err(f.into_status());
        };
        gate.check_area(j.code()).map_err(|d| denied(&d))?;
        let (page, checkpoint) = self
            .query(move |rm| {
                Ok((rm.eligible(&j, programme.as_deref(), a, offset, page_size as usize)?, rm.checkpoint()?))
            })
            .await?;
        let next = offset + page.rows.len();
        Ok(Response::new(pb::ListEligibleResponse {
            next_page_token: if next < page.total { next.to_string() } else { String::new() },
            total: page.total as u32,
            checkpoint_position: checkpoint,
            items: page.rows.into_iter().map(eligible_pb).collect(),
        }))
    }

    async fn get_targets(
        &self,
        request: Request<pb::GetTargetsRequest>,
    ) -> Result<Response<pb::GetTargetsResponse>, Status> {
        let (gate, r) = gated(request)?;
        let (j, period, as_of) = self.check_targets(&gate, (&r).into())?;
        let params = self.params.clone();
        let (report, checkpoint) =
            self.query(move |rm| Ok((rm.targets(&j, period, as_of, &params)?, rm.checkpoint()?))).await?;
        Ok(Response::new(report_pb(report, checkpoint)))
    }

    async fn list_subsidy_totals(
        &self,
        request: Request<pb::ListSubsidyTotalsRequest>,
    ) -> Result<Response<pb::ListSubsidyTotalsResponse>, Status> {
        let (gate, r) = gated(request)?;
        let (j, period, as_of) = self.check_targets(&gate, (&r).into())?;
        let rows = self.query(move |rm| rm.subsidy_totals(&j, period, as_of)).await?;
        Ok(Response::new(pb::ListSubsidyTotalsResponse {
            totals: rows
                .into_iter()
                .map(|r| pb::SubsidyTotal {
                    programme: r.programme,
                    year: r.year,
                    district: r.district,
                    grants: r.grants,
                    amount_fen: r.amount_fen,
                })
                .collect(),
        }))
    }

    async fn list_communities(
        &self,
        request: Request<pb::ListCommunitiesRequest>,
    ) -> Result<Response<pb::ListCommunitiesResponse>, Status> {
        let (gate, r) = gated(request)?;
        let (j, _, as_of) = self.check_targets(&gate, (&r).into())?;
        let rows = self.query(move |rm| rm.communities(&j, as_of)).await?;
        Ok(Response::new(pb::ListCommunitiesResponse {
            communities: rows
                .into_iter()
                .map(|c| pb::CommunityEmployment {
                    community: c.community,
                    employed: c.employed,
                    unemployed: c.unemployed,
                    rate: c.rate,
                    full_employment: c.full_employment,
                })
                .collect(),
        }))
    }

    async fn get_household(
        &self,
        request: Request<pb::GetHouseholdRequest>,
    ) -> Result<Response<pb::GetHouseholdResponse>, Status> {
        let (gate, r) = gated(request)?;
        let mut f = Fields::new();
        let household_id = f.take(
            "household_id",
            uuid::Uuid::parse_str(r.household_id.trim()).map_err(|_| "must be a UUID (the household's id)"),
        );
        let as_of = if r.as_of.trim().is_empty() { Some(self.today()) } else { f.take("as_of", parse_date(&r.as_of)) };
        let (Some(household_id), Some(a), true) = (household_id, as_of, f.is_empty()) else {
            return Err(f.into_status());
        };
        let (view, places, checkpoint) = self
            .query(move |rm| {
                let view = rm.household(&household_id.to_string(), a)?;
                let members: Vec<String> =
                    view.iter().flat_map(|v| v.members.iter().map(|m| m.case_id.clone())).collect();
                Ok((view, rm.person_places(&members)?, rm.checkpoint()?))
            })
            .await?;
        let Some(v) = view else {
            return Err(Status::not_found("no member had joined this household by as_of"));
        };
        // A household is reached through any of its members' places.
        let reached = places.iter().any(|(district, street, community)| {
            gate.principal().covers(district, Some(street.as_str()), Some(community.as_str()))
        });
        if !reached {
            return Err(denied(&gate.deny(Denied::OutOfJurisdiction)));
        }
        Ok(Response::new(pb::GetHouseholdResponse {
            household_id: v.household_id,
            as_of: date(v.as_of),
            members: v
                .members
                .into_iter()
                .map(|m| pb::HouseholdMember {
                    case_id: m.case_id,
                    relation: m.relation,
                    joined_on: date(m.joined_on),
                    left_on: opt(m.left_on),
                    member: m.member_on_as_of,
                    employed: m.employed_on_as_of,
                })
                .collect(),
            identified_on: opt(v.status.identified_on),
            zero_employment: v.status.zero_employment,
            zero_employment_since: opt(v.status.since),
            cleared_on: opt(v.status.cleared_on),
            checkpoint_position: checkpoint,
        }))
    }

    async fn list_actions(
        &self,
        request: Request<pb::ListActionsRequest>,
    ) -> Result<Response<pb::ListActionsResponse>, Status> {
        let (gate, r) = gated(request)?;
        let mut f = Fields::new();
        let list = match pb::ActionList::try_from(r.list) {
            Ok(pb::ActionList::Unspecified) => {
                f.bad("list", "is required");
                None
            }
            Ok(l) => Some(l),
            Err(_) => {
                f.bad("list", format!("unknown enum value {}", r.list));
                None
            }
        };
        let j = f.take("jurisdiction", Jurisdiction::parse(&r.jurisdiction));
        let as_of = if r.as_of.trim().is_empty() { Some(self.today()) } else { f.take("as_of", parse_date(&r.as_of)) };
        let group = f.take("group", check_group(&r.group));
        let page_size = match r.page_size {
            0 => DEFAULT_PAGE,
            n if n <= MAX_PAGE => n,
            _ => {
                f.bad("page_size", format!("must be at most {MAX_PAGE}"));
                DEFAULT_PAGE
            }
        };
        let offset = if r.page_token.is_empty() {
            Some(0usize)
        } else {
            f.take("page_token", r.page_token.parse::<usize>().map_err(|_| "is not a token from a previous page"))
        };
        let period = match as_of {
            Some(a) if r.period_from.is_empty() && r.period_to.is_empty() => {
                let first = if list == Some(pb::ActionList::UnservedBatchLayoffs) {
                    // The 12 months up to as_of.
                    a.checked_sub_months(chrono::Months::new(12)).and_then(|d| d.succ_opt()).unwrap_or(a)
                } else {
                    NaiveDate::from_ymd_opt(a.year(), a.month(), 1).unwrap_or(a)
                };
                Some(Period { from: first, to: a })
            }
            _ => {
                let from = f.take("period_from", parse_date(&r.period_from));
                let to = f.take("period_to", parse_date(&r.period_to));
                match (from, to) {
                    (Some(from), Some(to)) => f.take("period_to", Period::new(from, to)),
                    _ => None,
                }
            }
        };
        let (Some(list), Some(j), Some(a), Some(group), Some(offset), Some(period), true) =
            (list, j, as_of, group, offset, period, f.is_empty())
        else {
            return Err(f.into_status());
        };
        gate.check_area(j.code()).map_err(|d| denied(&d))?;
        let params = self.params.clone();
        let (items, total) = self
            .query(move |rm| {
                let members: Option<HashSet<String>> = group.map(|g| rm.with_group(&g, a)).transpose()?;
                let keep = |case_id: &str| members.as_ref().is_none_or(|m| m.contains(case_id));
                let items: Vec<pb::ActionItem> = match list {
                    pb::ActionList::LongTermUnemployed => rm
                        .long_term(&j, a, &params)?
                        .into_iter()
                        .filter(|r| keep(&r.case_id))
                        .map(|r| pb::ActionItem {
                            case_id: r.case_id,
                            communities: vec![r.community],
                            registered_on: date(r.registered_on),
                            ended_on: opt(r.ended_on),
                            days: r.days,
                            status: r.status.into(),
                            reference_date: date(r.long_term_after),
                            ..Default::default()
                        })
                        .collect(),
                    pb::ActionList::ZeroEmploymentHouseholds => rm
                        .zero_employment_households(&j, a, &params)?
                        .into_iter()
                        .map(|h| pb::ActionItem {
                            household_id: h.household_id,
                            communities: h.communities,
                            days: h.days_outstanding,
                            status: if h.overdue { "overdue" } else { "within_deadline" }.into(),
                            reference_date: date(h.identified_on),
                            ..Default::default()
                        })
                        .collect(),
                    pb::ActionList::OverdueFollowUp => rm
                        .overdue_followups(&j, a, &params)?
                        .into_iter()
                        .filter(|r| keep(&r.case_id))
                        .map(|r| pb::ActionItem {
                            case_id: r.case_id,
                            communities: vec![r.community],
                            registered_on: date(r.registered_on),
                            last_contact_on: opt(r.last_contact_on),
                            reference_date: date(r.missed_month_start),
                            ..Default::default()
                        })
                        .collect(),
                    pb::ActionList::MatchmakerBreaches => rm
                        .matchmaker_breaches(&j, period, a, &params)?
                        .into_iter()
                        .filter(|r| keep(&r.case_id))
                        .map(|r| pb::ActionItem {
                            case_id: r.case_id,
                            communities: vec![r.community],
                            registered_on: date(r.registered_on),
                            same_day_contact: r.same_day_contact,
                            two_way_in_time: r.two_way_in_time,
                            ..Default::default()
                        })
                        .collect(),
                    pb::ActionList::UnservedBatchLayoffs => rm
                        .unserved_layoffs(&j, period, a, &params)?
                        .into_iter()
                        .map(|l| pb::ActionItem {
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
                    pb::ActionList::ExitReview | pb::ActionList::Unspecified => rm
                        .exit_review(&j, a, &params)?
                        .into_iter()
                        .filter(|r| keep(&r.case_id))
                        .map(|r| pb::ActionItem {
                            case_id: r.case_id,
                            communities: vec![r.community],
                            registered_on: date(r.registered_on),
                            last_contact_on: opt(r.last_contact_on),
                            ..Default::default()
                        })
                        .collect(),
                };
                let total = items.len();
                Ok((items.into_iter().skip(offset).take(page_size as usize).collect::<Vec<_>>(), total))
            })
            .await?;
        let next = offset + items.len();
        Ok(Response::new(pb::ListActionsResponse {
            items,
            next_page_token: if next < total { next.to_string() } else { String::new() },
            total: total as u32,
        }))
    }
}
