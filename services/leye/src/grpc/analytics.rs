//! The analytics gRPC adapter: targets and action lists from the read model.
//! Thin: protobuf request → [`crate::analytics`] (the queries the dashboard's
//! JSON API shares) → protobuf response; errors become statuses here.

use leye_projections::read_model::{EligibleRow, TargetReport};
use leye_proto::analytics::v1::{self as pb, targets_service_server::TargetsService};
use tonic::{Request, Response, Status};

use super::{
    guard::gated,
    status::{Fields, denied},
};
use crate::{
    analytics::{
        ActionItem, ActionList, ActionsQuery, Analytics, AreaQuery, EligibleQuery, PageQuery, QueryError, date,
        opt_date,
    },
    cases::Clock,
};

/// The gRPC face of the read model.
#[derive(Clone, Debug)]
pub struct AnalyticsApi {
    queries: Analytics,
}

impl AnalyticsApi {
    pub fn new(
        dir: leye_projections::runner::ReadModelDir,
        params: leye_projections::TargetParams,
        clock: Clock,
    ) -> Self {
        Self { queries: Analytics::new(dir, params, clock) }
    }

    /// The queries behind this service, for the other wires (the dashboard's JSON API).
    pub fn queries(&self) -> &Analytics {
        &self.queries
    }
}

/// The one mapping of a query's error to a status.
fn to_status(e: QueryError) -> Status {
    match e {
        QueryError::Invalid(violations) => {
            let mut f = Fields::new();
            for v in violations {
                f.bad(v.field, v.rule);
            }
            f.into_status()
        }
        QueryError::Denied(d) => denied(&d),
        QueryError::NotFound(m) => Status::not_found(m),
        QueryError::Unavailable(m) => Status::unavailable(m),
    }
}

/// The fields `GetTargets`, `ListSubsidyTotals` and `ListCommunities` share:
/// each RPC has its own request message, read through this one view.
macro_rules! area_of {
    ($($request:ty),*) => {$(
        impl<'a> From<&'a $request> for AreaQuery<'a> {
            fn from(r: &'a $request) -> Self {
                AreaQuery { jurisdiction: &r.jurisdiction, period_from: &r.period_from, period_to: &r.period_to, as_of: &r.as_of }
            }
        }
    )*};
}
area_of!(pb::GetTargetsRequest, pb::ListSubsidyTotalsRequest, pb::ListCommunitiesRequest);

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

fn eligible_pb(r: EligibleRow) -> pb::EligibleItem {
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

fn action_list(raw: i32) -> Option<Result<ActionList, String>> {
    match pb::ActionList::try_from(raw) {
        Ok(pb::ActionList::Unspecified) => None,
        Ok(pb::ActionList::LongTermUnemployed) => Some(Ok(ActionList::LongTermUnemployed)),
        Ok(pb::ActionList::ZeroEmploymentHouseholds) => Some(Ok(ActionList::ZeroEmploymentHouseholds)),
        Ok(pb::ActionList::OverdueFollowUp) => Some(Ok(ActionList::OverdueFollowUp)),
        Ok(pb::ActionList::MatchmakerBreaches) => Some(Ok(ActionList::MatchmakerBreaches)),
        Ok(pb::ActionList::ExitReview) => Some(Ok(ActionList::ExitReview)),
        Ok(pb::ActionList::UnservedBatchLayoffs) => Some(Ok(ActionList::UnservedBatchLayoffs)),
        Err(_) => Some(Err(format!("unknown enum value {raw}"))),
    }
}

fn action_pb(a: ActionItem) -> pb::ActionItem {
    pb::ActionItem {
        case_id: a.case_id,
        household_id: a.household_id,
        communities: a.communities,
        registered_on: a.registered_on,
        ended_on: a.ended_on,
        days: a.days,
        status: a.status,
        last_contact_on: a.last_contact_on,
        reference_date: a.reference_date,
        same_day_contact: a.same_day_contact,
        two_way_in_time: a.two_way_in_time,
        layoff_id: a.layoff_id,
        people: a.people,
        reported_on: a.reported_on,
        missing_services: a.missing_services,
    }
}

#[tonic::async_trait]
impl TargetsService for AnalyticsApi {
    async fn list_eligible(
        &self,
        request: Request<pb::ListEligibleRequest>,
    ) -> Result<Response<pb::ListEligibleResponse>, Status> {
        let (gate, r) = gated(request)?;
        let q = EligibleQuery {
            jurisdiction: &r.jurisdiction,
            programme: &r.programme,
            as_of: &r.as_of,
            page: PageQuery { size: r.page_size, token: &r.page_token },
        };
        let page = self.queries.eligible(&gate, q).await.map_err(to_status)?;
        Ok(Response::new(pb::ListEligibleResponse {
            next_page_token: page.next_page_token,
            total: page.total as u32,
            checkpoint_position: page.checkpoint,
            items: page.items.into_iter().map(eligible_pb).collect(),
        }))
    }

    async fn get_targets(
        &self,
        request: Request<pb::GetTargetsRequest>,
    ) -> Result<Response<pb::GetTargetsResponse>, Status> {
        let (gate, r) = gated(request)?;
        let (report, checkpoint) = self.queries.targets(&gate, (&r).into()).await.map_err(to_status)?;
        Ok(Response::new(report_pb(report, checkpoint)))
    }

    async fn list_subsidy_totals(
        &self,
        request: Request<pb::ListSubsidyTotalsRequest>,
    ) -> Result<Response<pb::ListSubsidyTotalsResponse>, Status> {
        let (gate, r) = gated(request)?;
        let rows = self.queries.subsidy_totals(&gate, (&r).into()).await.map_err(to_status)?;
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
        let rows = self.queries.communities(&gate, (&r).into()).await.map_err(to_status)?;
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
        let (v, checkpoint) = self.queries.household(&gate, &r.household_id, &r.as_of).await.map_err(to_status)?;
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
                    left_on: opt_date(m.left_on),
                    member: m.member_on_as_of,
                    employed: m.employed_on_as_of,
                })
                .collect(),
            identified_on: opt_date(v.status.identified_on),
            zero_employment: v.status.zero_employment,
            zero_employment_since: opt_date(v.status.since),
            cleared_on: opt_date(v.status.cleared_on),
            checkpoint_position: checkpoint,
        }))
    }

    async fn list_actions(
        &self,
        request: Request<pb::ListActionsRequest>,
    ) -> Result<Response<pb::ListActionsResponse>, Status> {
        let (gate, r) = gated(request)?;
        let q = ActionsQuery {
            list: action_list(r.list),
            jurisdiction: &r.jurisdiction,
            as_of: &r.as_of,
            group: &r.group,
            period_from: &r.period_from,
            period_to: &r.period_to,
            page: PageQuery { size: r.page_size, token: &r.page_token },
        };
        let page = self.queries.actions(&gate, q).await.map_err(to_status)?;
        Ok(Response::new(pb::ListActionsResponse {
            items: page.items.into_iter().map(action_pb).collect(),
            next_page_token: page.next_page_token,
            total: page.total as u32,
        }))
    }
}
