//! Read your own writes against `leye serve` (a real process on free
//! loopback ports, its SQLite files, the projector inside): a command's
//! answer carries the global position of its last event; an analytics query
//! (gRPC and the dashboard's JSON API) given that position as `min_position`
//! sees the command's effect and answers with the read model's position; a
//! position the log never reaches ends at the first bound with the error the
//! proto documents, naming the position reached.

mod dash;
mod support;

use std::time::{Duration, Instant};

use dash::{HEPING, Served, get, token};
use leye_auth::Role;
use leye_proto::{
    analytics::v1::{self as apb, targets_service_client::TargetsServiceClient},
    common::v1::CommandContext,
    person::v1::{self as pb, person_case_service_client::PersonCaseServiceClient},
};
use tonic::Code;

/// The server's bound on a query's wait in this test (`limits.query_wait_max_ms`).
const WAIT_MAX: Duration = Duration::from_millis(700);
const COMMUNITY: &str = "120101001002";

fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

fn registration(n: u32) -> pb::RegisterUnemploymentRequest {
    pb::RegisterUnemploymentRequest {
        context: Some(CommandContext {
            command_id: uuid::Uuid::new_v4().to_string(),
            office: "120101001".into(),
            ..Default::default()
        }),
        effective_date: today().pred_opt().unwrap().to_string(),
        registration: Some(pb::Registration {
            resident_id: support::resident_id(n),
            name: support::NAME.into(),
            hukou: Some(pb::Hukou { district_code: HEPING.into(), nature: pb::HukouNature::Urban as i32 }),
            residence: Some(pb::Residence {
                district_code: HEPING.into(),
                street_code: "120101001".into(),
                community_code: COMMUNITY.into(),
            }),
            education: pb::Education::SeniorSecondary as i32,
            ..Default::default()
        }),
    }
}

fn communities(min_position: u64) -> apb::ListCommunitiesRequest {
    apb::ListCommunitiesRequest {
        jurisdiction: HEPING.into(),
        period_from: format!("{}-01-01", today().format("%Y")),
        period_to: today().to_string(),
        as_of: String::new(),
        min_position,
    }
}

fn http_path(min_position: &str) -> String {
    let r = communities(0);
    format!(
        "/api/v1/communities?jurisdiction={}&period_from={}&period_to={}&min_position={min_position}",
        r.jurisdiction, r.period_from, r.period_to
    )
}

/// Unemployed persons of [`COMMUNITY`] in a gRPC answer.
fn unemployed(r: &apb::ListCommunitiesResponse) -> i64 {
    r.communities.iter().find(|c| c.community == COMMUNITY).map_or(0, |c| c.unemployed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_at_the_commands_position_sees_it_and_one_too_far_ends_at_the_bound_naming_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("leye.toml");
    std::fs::write(&config, format!("[security.limits]\nquery_wait_max_ms = {}\n", WAIT_MAX.as_millis())).unwrap();
    let served = Served::start_with(dir.path(), &["--config", config.to_str().unwrap()]).await;
    let t = token(dir.path(), "staff-rw", &[Role::Caseworker, Role::Analyst], &["120000"]);
    let channel = support::authed(served.grpc, &t).await.expect("gRPC channel");
    let mut people = PersonCaseServiceClient::new(channel.clone());
    let mut analytics = TargetsServiceClient::new(channel);

    // Each command, then at once a query at its position, on both wires: the
    // person just registered is counted, every time.
    let mut last = 0;
    for n in 1..=6u32 {
        let result = people.register_unemployment(registration(n)).await.unwrap().into_inner().result.unwrap();
        assert!(result.global_position > last, "positions grow: {} after {last}", result.global_position);
        last = result.global_position;

        let r = analytics.list_communities(communities(last)).await.unwrap().into_inner();
        assert!(r.checkpoint_position >= last, "gRPC answered at {} < {last}", r.checkpoint_position);
        assert_eq!(unemployed(&r), i64::from(n), "gRPC sees registration {n}");

        let a = get(served.dashboard, &http_path(&last.to_string()), Some(&t)).await.unwrap();
        assert_eq!(a.status, 200, "{}", a.body);
        let json = a.json();
        assert!(json["checkpoint_position"].as_u64().unwrap() >= last, "{json}");
        let row = json["communities"].as_array().unwrap().iter().find(|c| c["community"] == COMMUNITY).cloned();
        assert_eq!(row.unwrap()["unemployed"], i64::from(n), "HTTP sees registration {n}");
    }
    // A retried command answers the original's position.
    let again = registration(99);
    let first = people.register_unemployment(again.clone()).await.unwrap().into_inner().result.unwrap();
    let retried = people.register_unemployment(again).await.unwrap().into_inner().result.unwrap();
    assert!(retried.duplicate);
    assert_eq!(retried.global_position, first.global_position, "a duplicate names the original's position");
    last = first.global_position;

    // Too far: UNAVAILABLE after the server's bound, naming the position reached.
    let far = last + 1_000_000;
    let started = Instant::now();
    let e = analytics.list_communities(communities(far)).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(e.message().contains(&format!("min_position {far}")), "{}", e.message());
    let reached: u64 = e.message().split("log position ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    assert!(reached >= last && reached < far, "{}", e.message());
    assert!(took >= WAIT_MAX && took < WAIT_MAX + Duration::from_secs(2), "answered after {took:?}");

    // The call's own deadline first: DEADLINE_EXCEEDED, from the server, naming the position.
    let mut request = tonic::Request::new(communities(far));
    request.set_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let e = analytics.list_communities(request).await.unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
    assert!(e.message().contains(&format!("min_position {far}")), "the server's answer: {}", e.message());
    assert!(started.elapsed() < WAIT_MAX, "before the server's bound: {:?}", started.elapsed());

    // The same over HTTP: 503, reason READ_MODEL_BEHIND.
    let started = Instant::now();
    let a = get(served.dashboard, &http_path(&far.to_string()), Some(&t)).await.unwrap();
    let took = started.elapsed();
    assert_eq!(a.status, 503, "{}", a.body);
    let error = &a.json()["error"];
    assert_eq!(error["reason"], "READ_MODEL_BEHIND", "{error}");
    assert!(error["message"].as_str().unwrap().contains(&format!("min_position {far}")), "{error}");
    assert!(took >= WAIT_MAX && took < WAIT_MAX + Duration::from_secs(2), "answered after {took:?}");

    // A malformed position is refused naming the field, at once.
    let a = get(served.dashboard, &http_path("soon"), Some(&t)).await.unwrap();
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.json()["error"]["fields"][0]["field"], "min_position", "{}", a.body);
}
