//! The JSON API (`/api/v1/…`): one route per analytics query, each mirroring
//! the gRPC operation whose row in `access::RULES` decides who may call it.
//! Parameters have the gRPC request's field names and meanings; answers have
//! the gRPC response's field names (protobuf's JSON mapping aside: numbers
//! stay numbers, names stay `snake_case`). The queries are
//! [`crate::analytics`], the same functions `TargetsService` calls.

use std::collections::HashMap;

use axum::{
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, Uri},
    response::Response,
};
use leye_projections::read_model::{EligibleRow, TargetReport};
use leye_store::{AnyStore, EventStore, Position};
use serde_json::{Value, json};

use super::{App, guard::ApiError};
use crate::analytics::{ActionList, ActionsQuery, AreaQuery, EligibleQuery, PageQuery, Wait, date, opt_date};
use crate::grpc::net::ConnInfo;

/// A route of the JSON API and the gRPC operation it mirrors.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The path as axum and OpenAPI spell it.
    pub path: &'static str,
    /// The gRPC operation (`package.Service/Method`) whose rule applies.
    pub operation: &'static str,
    /// The query parameters it takes (any other is refused, naming it).
    pub params: &'static [&'static str],
}

const AREA: &[&str] = &["jurisdiction", "period_from", "period_to", "as_of", "min_position"];

/// Every route of the JSON API. `openapi.json` describes exactly these
/// (`http::tests::every_route_is_described`), and each has a rule.
pub const ROUTES: &[Route] = &[
    Route { path: "/api/v1/targets", operation: "leye.analytics.v1.TargetsService/GetTargets", params: AREA },
    Route {
        path: "/api/v1/subsidy-totals",
        operation: "leye.analytics.v1.TargetsService/ListSubsidyTotals",
        params: AREA,
    },
    Route { path: "/api/v1/communities", operation: "leye.analytics.v1.TargetsService/ListCommunities", params: AREA },
    Route {
        path: "/api/v1/actions",
        operation: "leye.analytics.v1.TargetsService/ListActions",
        params: &[
            "list",
            "jurisdiction",
            "as_of",
            "group",
            "period_from",
            "period_to",
            "page_size",
            "page_token",
            "min_position",
        ],
    },
    Route {
        path: "/api/v1/eligible",
        operation: "leye.analytics.v1.TargetsService/ListEligible",
        params: &["jurisdiction", "programme", "as_of", "page_size", "page_token", "min_position"],
    },
    Route {
        path: "/api/v1/households/{household_id}",
        operation: "leye.analytics.v1.TargetsService/GetHousehold",
        params: &["as_of", "min_position"],
    },
];

fn route(path: &str) -> &'static Route {
    // ROUTES is a constant naming every path the router serves (unit-tested).
    ROUTES.iter().find(|r| r.path == path).unwrap_or(&ROUTES[0])
}

/// The query string's parameters, each at most once and each known to the route.
fn params(uri: &Uri, route: &Route) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if !route.params.contains(&k.as_ref()) {
            return Err(ApiError::field(
                &k,
                format!("is not a parameter of {} ({})", route.path, route.params.join(", ")),
            ));
        }
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(ApiError::field(&k, "is given more than once"));
        }
    }
    Ok(out)
}

fn get<'a>(p: &'a HashMap<String, String>, key: &str) -> &'a str {
    p.get(key).map_or("", String::as_str)
}

fn page_size(p: &HashMap<String, String>) -> Result<u32, ApiError> {
    match p.get("page_size").map(|s| s.trim()) {
        None | Some("") => Ok(0),
        Some(s) => s.parse().map_err(|_| ApiError::field("page_size", "must be a whole number")),
    }
}

/// `min_position` (read your own writes): the log position to wait for; empty: 0, no wait.
fn wait(p: &HashMap<String, String>) -> Result<Wait, ApiError> {
    match p.get("min_position").map(|s| s.trim()) {
        None | Some("") => Ok(Wait::default()),
        Some(s) => s.parse().map(Wait::at_least).map_err(|_| {
            ApiError::field("min_position", "must be a whole number (a log position, e.g. a command's global_position)")
        }),
    }
}

fn area(p: &HashMap<String, String>) -> Result<AreaQuery<'_>, ApiError> {
    Ok(AreaQuery {
        jurisdiction: get(p, "jurisdiction"),
        period_from: get(p, "period_from"),
        period_to: get(p, "period_to"),
        as_of: get(p, "as_of"),
        wait: wait(p)?,
    })
}

type Conn = ConnectInfo<ConnInfo>;

pub async fn targets(State(app): State<App>, ConnectInfo(conn): Conn, headers: HeaderMap, uri: Uri) -> Response {
    let r = route("/api/v1/targets");
    app.guard
        .answer(r.operation, &conn, &headers, |gate| async move {
            let p = params(&uri, r)?;
            let (report, checkpoint) = app.queries.targets(&gate, area(&p)?).await?;
            let freshness = freshness(app.store.as_ref(), checkpoint).await;
            Ok(report_json(report, checkpoint, freshness))
        })
        .await
}

pub async fn subsidy_totals(State(app): State<App>, ConnectInfo(conn): Conn, headers: HeaderMap, uri: Uri) -> Response {
    let r = route("/api/v1/subsidy-totals");
    app.guard
        .answer(r.operation, &conn, &headers, |gate| async move {
            let p = params(&uri, r)?;
            let (rows, checkpoint) = app.queries.subsidy_totals(&gate, area(&p)?).await?;
            let totals: Vec<Value> = rows
                .into_iter()
                .map(|t| {
                    json!({"programme": t.programme, "year": t.year, "district": t.district,
                           "grants": t.grants, "amount_fen": t.amount_fen})
                })
                .collect();
            Ok(json!({ "totals": totals, "checkpoint_position": checkpoint }))
        })
        .await
}

pub async fn communities(State(app): State<App>, ConnectInfo(conn): Conn, headers: HeaderMap, uri: Uri) -> Response {
    let r = route("/api/v1/communities");
    app.guard
        .answer(r.operation, &conn, &headers, |gate| async move {
            let p = params(&uri, r)?;
            let (rows, checkpoint) = app.queries.communities(&gate, area(&p)?).await?;
            let communities: Vec<Value> = rows
                .into_iter()
                .map(|c| {
                    json!({"community": c.community, "employed": c.employed, "unemployed": c.unemployed,
                           "rate": c.rate, "full_employment": c.full_employment})
                })
                .collect();
            Ok(json!({ "communities": communities, "checkpoint_position": checkpoint }))
        })
        .await
}

pub async fn actions(State(app): State<App>, ConnectInfo(conn): Conn, headers: HeaderMap, uri: Uri) -> Response {
    let r = route("/api/v1/actions");
    app.guard
        .answer(r.operation, &conn, &headers, |gate| async move {
            let p = params(&uri, r)?;
            let list = p.get("list").filter(|l| !l.trim().is_empty()).map(|l| {
                ActionList::parse(l).ok_or_else(|| {
                    let names: Vec<&str> = ActionList::ALL.iter().map(|l| l.name()).collect();
                    format!("must be one of {}", names.join(", "))
                })
            });
            let q = ActionsQuery {
                list,
                jurisdiction: get(&p, "jurisdiction"),
                as_of: get(&p, "as_of"),
                group: get(&p, "group"),
                period_from: get(&p, "period_from"),
                period_to: get(&p, "period_to"),
                page: PageQuery { size: page_size(&p)?, token: get(&p, "page_token") },
                wait: wait(&p)?,
            };
            let page = app.queries.actions(&gate, q).await?;
            Ok(json!({"items": page.items, "next_page_token": page.next_page_token, "total": page.total,
                      "checkpoint_position": page.checkpoint}))
        })
        .await
}

pub async fn eligible(State(app): State<App>, ConnectInfo(conn): Conn, headers: HeaderMap, uri: Uri) -> Response {
    let r = route("/api/v1/eligible");
    app.guard
        .answer(r.operation, &conn, &headers, |gate| async move {
            let p = params(&uri, r)?;
            let q = EligibleQuery {
                jurisdiction: get(&p, "jurisdiction"),
                programme: get(&p, "programme"),
                as_of: get(&p, "as_of"),
                page: PageQuery { size: page_size(&p)?, token: get(&p, "page_token") },
                wait: wait(&p)?,
            };
            let page = app.queries.eligible(&gate, q).await?;
            let items: Vec<Value> = page.items.into_iter().map(eligible_json).collect();
            Ok(json!({"items": items, "next_page_token": page.next_page_token, "total": page.total,
                      "checkpoint_position": page.checkpoint}))
        })
        .await
}

pub async fn household(
    State(app): State<App>,
    ConnectInfo(conn): Conn,
    Path(household_id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let r = route("/api/v1/households/{household_id}");
    app.guard
        .answer(r.operation, &conn, &headers, |gate| async move {
            let p = params(&uri, r)?;
            let (v, checkpoint) = app.queries.household(&gate, &household_id, get(&p, "as_of"), wait(&p)?).await?;
            let members: Vec<Value> = v
                .members
                .into_iter()
                .map(|m| {
                    json!({"case_id": m.case_id, "relation": m.relation, "joined_on": date(m.joined_on),
                           "left_on": opt_date(m.left_on), "member": m.member_on_as_of, "employed": m.employed_on_as_of})
                })
                .collect();
            Ok(json!({"household_id": v.household_id, "as_of": date(v.as_of), "members": members,
                      "identified_on": opt_date(v.status.identified_on), "zero_employment": v.status.zero_employment,
                      "zero_employment_since": opt_date(v.status.since), "cleared_on": opt_date(v.status.cleared_on),
                      "checkpoint_position": checkpoint}))
        })
        .await
}

/// How far the read model is behind the log: its position, the log's head,
/// and the age of the oldest event it has not folded yet (0 when caught up).
async fn freshness(store: Option<&AnyStore>, checkpoint: u64) -> Value {
    let Some(store) = store else { return Value::Null };
    let head = store.head().await.ok().flatten().map_or(0, |p| p.commit);
    let after = Some(Position::from_sequence(checkpoint)).filter(|_| checkpoint > 0);
    let lag_seconds = match store.read_all(after, 1).await {
        Ok(next) => next.first().map_or(0, |e| (chrono::Utc::now() - e.recorded_at).num_seconds().max(0)),
        Err(_) => 0,
    };
    json!({"position": checkpoint, "head": head, "lag_events": head.saturating_sub(checkpoint),
           "lag_seconds": lag_seconds})
}

fn report_json(r: TargetReport, checkpoint: u64, freshness: Value) -> Value {
    let targets: Vec<Value> = r
        .targets
        .into_iter()
        .map(|t| {
            json!({"id": t.id, "title": t.title, "numerator": t.numerator, "denominator": t.denominator,
                   "value": t.value, "goal": t.goal, "met": t.met, "source": t.source})
        })
        .collect();
    let budgets: Vec<Value> = r
        .budgets
        .into_iter()
        .map(|b| {
            json!({"id": b.id, "title": b.title, "year": b.year, "granted_fen": b.granted_fen,
                   "amount_fen": b.amount_fen, "kind": leye_projections::names::of(&b.kind), "share": b.share,
                   "source": b.source})
        })
        .collect();
    let context: Vec<Value> = r
        .context
        .into_iter()
        .map(|c| {
            json!({"id": c.id, "title": c.title, "period": c.period, "value": c.value, "unit": c.unit,
                   "source": c.source})
        })
        .collect();
    json!({"jurisdiction": r.jurisdiction, "period_from": date(r.period_from), "period_to": date(r.period_to),
           "as_of": date(r.as_of), "checkpoint_position": checkpoint, "targets": targets, "budgets": budgets,
           "context": context, "read_model": freshness})
}

fn eligible_json(r: EligibleRow) -> Value {
    // Written by the projector from the event's reasons; an unreadable value
    // (never written so) shows as no reasons rather than failing the page.
    let reasons: Vec<leye_domain::person::EligibilityReason> = serde_json::from_str(&r.reasons).unwrap_or_default();
    let reasons: Vec<Value> =
        reasons.into_iter().map(|c| json!({"check": c.check, "detail": c.detail, "clause": c.clause})).collect();
    json!({"case_kind": r.case_kind, "case_id": r.case_id, "rule_id": r.rule_id,
           "rule_valid_from": date(r.rule_valid_from), "programme": r.programme, "clause": r.clause,
           "reasons": reasons, "amount_fen": r.amount_fen, "found_on": date(r.found_on), "district": r.district,
           "community": r.community})
}
