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
        ActionItem, ActionList, ActionsQuery, Analytics, AreaQuery, Bound, EligibleQuery, PageQuery, Progress,
        QueryError, Wait, date, opt_date,
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

    /// Lets queries wait for the projector's progress (`min_position`).
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.queries = self.queries.with_progress(progress);
        self
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
        e @ QueryError::NotReached { bound: Bound::Server, .. } => Status::unavailable(e.to_string()),
        e @ QueryError::NotReached { bound: Bound::Call, .. } => Status::deadline_exceeded(e.to_string()),
    }
}

/// A request's `min_position` with the call's deadline (`grpc-timeout`),
/// brought forward (a quarter, at most 250 ms) so the answer naming the
/// position reached reaches the client before its own timer cancels the
/// call: a tenth, at most 50 ms, was too little on a loaded machine.
fn wait_of<T>(request: &Request<T>, min_position: u64) -> Wait {
    let timeout = request.metadata().get("grpc-timeout").and_then(|v| grpc_timeout(v.to_str().ok()?));
    let deadline = timeout.map(|t| {
        let margin = (t / 4).min(std::time::Duration::from_millis(250));
        std::time::Instant::now() + t.saturating_sub(margin)
    });
    Wait { min_position, deadline }
}

/// `grpc-timeout`: at most 8 digits and a unit (H, M, S, m, u, n); `None` when malformed.
fn grpc_timeout(v: &str) -> Option<std::time::Duration> {
    use std::time::Duration;
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The fields `GetTargets`, `ListSubsidyTotals` and `ListCommunities` share:
/// each RPC has its own request message, read through this one view.
macro_rules! area_of {
    ($($request:ty),*) => {$(
        impl<'a> From<&'a $request> for AreaQuery<'a> {
            fn from(r: &'a $request) -> Self {
                AreaQuery {
                    jurisdiction: &r.jurisdiction,
                    period_from: &r.period_from,
                    period_to: &r.period_to,
                    as_of: &r.as_of,
                    wait: Wait::at_least(r.min_position),
                }
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
        let wait = wait_of(&request, request.get_ref().min_position);
        let (gate, r) = gated(request)?;
        let q = EligibleQuery {
            jurisdiction: &r.jurisdiction,
            programme: &r.programme,
            as_of: &r.as_of,
            page: PageQuery { size: r.page_size, token: &r.page_token },
            wait,
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
        let wait = wait_of(&request, request.get_ref().min_position);
        let (gate, r) = gated(request)?;
        let q = AreaQuery { wait, ..(&r).into() };
        let (report, checkpoint) = self.queries.targets(&gate, q).await.map_err(to_status)?;
        Ok(Response::new(report_pb(report, checkpoint)))
    }

    async fn list_subsidy_totals(
        &self,
        request: Request<pb::ListSubsidyTotalsRequest>,
    ) -> Result<Response<pb::ListSubsidyTotalsResponse>, Status> {
        let wait = wait_of(&request, request.get_ref().min_position);
        let (gate, r) = gated(request)?;
        let q = AreaQuery { wait, ..(&r).into() };
        let (rows, checkpoint) = self.queries.subsidy_totals(&gate, q).await.map_err(to_status)?;
        Ok(Response::new(pb::ListSubsidyTotalsResponse {
            checkpoint_position: checkpoint,
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
        let wait = wait_of(&request, request.get_ref().min_position);
        let (gate, r) = gated(request)?;
        let q = AreaQuery { wait, ..(&r).into() };
        let (rows, checkpoint) = self.queries.communities(&gate, q).await.map_err(to_status)?;
        Ok(Response::new(pb::ListCommunitiesResponse {
            checkpoint_position: checkpoint,
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
        let wait = wait_of(&request, request.get_ref().min_position);
        let (gate, r) = gated(request)?;
        let (v, checkpoint) =
            self.queries.household(&gate, &r.household_id, &r.as_of, wait).await.map_err(to_status)?;
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
        let wait = wait_of(&request, request.get_ref().min_position);
        let (gate, r) = gated(request)?;
        let q = ActionsQuery {
            list: action_list(r.list),
            jurisdiction: &r.jurisdiction,
            as_of: &r.as_of,
            group: &r.group,
            period_from: &r.period_from,
            period_to: &r.period_to,
            page: PageQuery { size: r.page_size, token: &r.page_token },
            wait,
        };
        let page = self.queries.actions(&gate, q).await.map_err(to_status)?;
        Ok(Response::new(pb::ListActionsResponse {
            items: page.items.into_iter().map(action_pb).collect(),
            next_page_token: page.next_page_token,
            total: page.total as u32,
            checkpoint_position: page.checkpoint,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_as_the_protocol_spells_them_and_nothing_else() {
        use std::time::Duration;
        assert_eq!(grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(grpc_timeout("99999999n"), Some(Duration::from_nanos(99_999_999)));
        for bad in ["", "m", "123456789m", "5s", "-1S", "1.5S"] {
            assert_eq!(grpc_timeout(bad), None, "{bad:?}");
        }
    }
}
