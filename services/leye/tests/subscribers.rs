//! The publisher as a subscribing government system's integrator sees it:
//! only the public surfaces (a real `nats-server`, `leye serve --nats-url`,
//! its gRPC API to cause events, `leye consume`, `leye health`, `/metrics`,
//! the documented subjects, headers and payloads), checked against README
//! ("Consuming events"), docs/OPERATIONS.md (the publisher), docs/API.md and
//! the `.proto` files.
//!
//! Run: `NATS_SERVER=/usr/sbin/nats-server cargo test -p leye --test subscribers`

mod support;

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    time::Duration,
};

use async_nats::jetstream::{
    self,
    consumer::{AckPolicy, DeliverPolicy, pull},
};
use futures::StreamExt;
use leye_proto::{
    common::v1::CommandContext,
    enterprise::v1::{self as epb, enterprise_case_service_client::EnterpriseCaseServiceClient},
    person::v1 as pb,
};
use prost::Message;
use support::*;
use tonic_health::pb::health_check_response::ServingStatus;
use uuid::Uuid;

const MINUTE: Duration = Duration::from_secs(60);

/// The headers the README's table lists, in its order.
const DOCUMENTED_HEADERS: [&str; 14] = [
    "Nats-Msg-Id",
    "Leye-Event-Id",
    "Leye-Event-Type",
    "Leye-Schema-Version",
    "Leye-Case-Id",
    "Leye-Revision",
    "Leye-Global-Position",
    "Leye-Command-Id",
    "Leye-Correlation-Id",
    "Leye-Causation-Id",
    "Leye-Effective-Date",
    "Leye-Recorded-At",
    "Leye-District",
    "Leye-Payload-Type",
];

/// A message as a subscriber receives it, the payload still raw.
#[derive(Debug, Clone)]
struct Raw {
    subject: String,
    stream_sequence: u64,
    headers: HashMap<String, String>,
    payload: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
    fn position(&self) -> u64 {
        self.header("Leye-Global-Position").parse().expect("Leye-Global-Position is a number")
    }
    fn person(&self) -> pb::PersonEvent {
        assert_eq!(self.header("Leye-Payload-Type"), "leye.person.v1.PersonEvent");
        pb::PersonEvent::decode(self.payload.as_slice()).expect("a person payload decodes")
    }
}

/// Reads, with a fresh durable consumer filtered by `filter` (as a subscriber
/// would), exactly `n` messages, then checks that no further one arrives.
async fn read_filtered(js: &jetstream::Context, stream: &str, filter: &str, n: usize) -> Vec<Raw> {
    read_from(js, stream, filter, DeliverPolicy::All, n).await
}

async fn read_from(js: &jetstream::Context, stream: &str, filter: &str, deliver: DeliverPolicy, n: usize) -> Vec<Raw> {
    let durable = format!("sub-{}", Uuid::new_v4().simple());
    let stream = js.get_stream(stream).await.expect("the stream exists");
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some(durable),
            filter_subject: filter.into(),
            deliver_policy: deliver,
            ack_policy: AckPolicy::Explicit,
            memory_storage: true,
            ..Default::default()
        })
        .await
        .expect("a consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(20), messages.next())
            .await
            .unwrap_or_else(|_| panic!("{filter}: only {} of {n} messages arrived", out.len()))
            .expect("messages end")
            .expect("a message");
        let headers = headers_of(&next);
        let stream_sequence = next.info().map(|i| i.stream_sequence).unwrap_or(0);
        out.push(Raw { subject: next.subject.to_string(), stream_sequence, headers, payload: next.payload.to_vec() });
        next.ack().await.expect("ack");
    }
    if let Ok(Some(Ok(extra))) = tokio::time::timeout(Duration::from_millis(1000), messages.next()).await {
        panic!("{filter}: an extra message beyond the {n} expected, on {}", extra.subject);
    }
    out
}

async fn messages_in(js: &jetstream::Context, stream: &str) -> Option<u64> {
    let mut s = js.get_stream(stream).await.ok()?;
    s.info().await.ok().map(|i| i.state.messages)
}

async fn wait_count(js: &jetstream::Context, stream: &str, n: u64) {
    eventually(&format!("{n} messages in {stream}"), MINUTE, || async move {
        let have = messages_in(js, stream).await?;
        assert!(have <= n, "{stream} holds {have} messages, more than the {n} events recorded");
        (have == n).then_some(())
    })
    .await;
}

fn data_dir(root: &Path) -> std::path::PathBuf {
    let d = root.join("leye");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn today_bj() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive().to_string()
}

fn ctx() -> Option<CommandContext> {
    Some(CommandContext {
        command_id: Uuid::new_v4().to_string(),
        correlation_id: Uuid::new_v4().to_string(),
        office: "120111001".into(),
        ..Default::default()
    })
}

fn registration(person: u32, district: &str) -> pb::Registration {
    pb::Registration {
        resident_id: resident_id(person),
        name: NAME.into(),
        hukou: Some(pb::Hukou { district_code: "120111".into(), nature: pb::HukouNature::Urban as i32 }),
        residence: Some(pb::Residence {
            district_code: district.into(),
            street_code: format!("{district}001"),
            community_code: format!("{district}001002"),
        }),
        education: pb::Education::SeniorSecondary as i32,
        ..Default::default()
    }
}

fn credit_code(body: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
    format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)
}

fn supervisor_token(dir: &Path) -> String {
    let (key, _) = leye::trust::dev_issuer(dir).expect("development issuer");
    let claims = leye_auth::dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        ..leye_auth::dev::DevClaims::new("chief-0007", &[leye_auth::Role::Supervisor], &["120000"])
    };
    leye_auth::dev::issue_token(&key, &claims, chrono::Utc::now().timestamp()).expect("token")
}

fn leye_cmd() -> tokio::process::Command {
    let mut c = tokio::process::Command::new(LEYE);
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") {
            c.env_remove(k);
        }
    }
    c.env("LEYE_LOG", "warn").kill_on_drop(true);
    c
}

/// `leye consume …` to completion (it must stop by `--max-events`).
async fn consume(args: &[&str]) -> String {
    let out = tokio::time::timeout(MINUTE, leye_cmd().arg("consume").args(args).output())
        .await
        .unwrap_or_else(|_| panic!("leye consume {args:?} did not finish within a minute"))
        .unwrap();
    assert!(out.status.success(), "leye consume {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `leye health --service leye.Publisher`'s exit status (0: SERVING).
async fn health_exit(addr: std::net::SocketAddr) -> i32 {
    let out =
        leye_cmd().args(["health", "--addr", &addr.to_string(), "--service", "leye.Publisher"]).output().await.unwrap();
    out.status.code().unwrap_or(-1)
}

/// The positions carried by `received`, which must be exactly 1..=n, each once,
/// in stream order.
fn assert_gapless_once(received: &[Raw], n: u64) {
    let positions: Vec<u64> = received.iter().map(Raw::position).collect();
    assert_eq!(positions, (1..=n).collect::<Vec<_>>(), "the stream holds the log in order, without gaps");
    let ids: HashSet<&str> = received.iter().map(|r| r.header("Leye-Event-Id")).collect();
    assert_eq!(ids.len(), received.len(), "no event twice");
}

// ============================================================================
// Subjects, district filters, headers, payloads
// ============================================================================

/// README "Consuming events": subjects `leye.v1.<case kind>.<district>.<event>`,
/// a district filter receives exactly that district's events, the documented
/// wildcards work, every message carries every documented header, payloads
/// decode as the header says, registrations withhold resident ID and name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_filter_receives_exactly_its_district_with_every_documented_header() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let data = data_dir(dir.path());
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    let mut client = leye.client().await;
    // Persons 0..8: two in each of DISTRICTS, four events each.
    let mut sent = Vec::new();
    for person in 0..8 {
        sent.extend(run_case(&mut client, person).await);
    }
    // One enterprise in 120116.
    let mut enterprises = EnterpriseCaseServiceClient::new(authed(leye.addr, &leye.token()).await.unwrap());
    let enterprise = enterprises
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: today_bj(),
            registration: Some(epb::EnterpriseRegistration {
                credit_code: credit_code("91120116MA05JX0K0"),
                name: "天津滨海测试制造有限公司".into(),
                district: "120116".into(),
                industry_code: "C3411".into(),
                insured_employees: 30,
                ..Default::default()
            }),
        })
        .await
        .expect("register enterprise")
        .into_inner()
        .result
        .unwrap();
    // A sole proprietorship (92…): its name is withheld on NATS (enterprise.proto).
    enterprises
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: today_bj(),
            registration: Some(epb::EnterpriseRegistration {
                credit_code: credit_code("92120116MA05JX1K0"),
                name: "王测试小吃店".into(),
                district: "120116".into(),
                industry_code: "H6210".into(),
                insured_employees: 2,
                ..Default::default()
            }),
        })
        .await
        .expect("register a sole proprietorship");
    let n = sent.len() as u64 + 2;
    let js = jetstream(&[nats.url()]).await;
    wait_count(&js, STREAM, n).await;

    // Everything, in order, without gaps; every documented header on each.
    let all = read_filtered(&js, STREAM, "leye.v1.>", n as usize).await;
    assert_gapless_once(&all, n);
    for r in &all {
        let missing: Vec<&str> = DOCUMENTED_HEADERS.iter().copied().filter(|h| r.header(h).is_empty()).collect();
        assert!(missing.is_empty(), "{}: documented headers missing: {missing:?}", r.subject);
        assert_eq!(r.header("Nats-Msg-Id"), r.header("Leye-Event-Id"));
        assert!(r.headers.values().all(|v| v.is_ascii()), "header values are ASCII");
        assert_eq!(r.header("Leye-Schema-Version"), "1");
        let kind_event = r.header("Leye-Event-Type").split_once('.').unwrap();
        assert_eq!(
            r.subject,
            format!("leye.v1.{}.{}.{}", kind_event.0, r.header("Leye-District"), kind_event.1),
            "subject = leye.v1.<case kind>.<district>.<event>"
        );
        chrono::DateTime::parse_from_rfc3339(r.header("Leye-Recorded-At")).expect("Leye-Recorded-At is RFC 3339");
        assert!(r.header("Leye-Recorded-At").ends_with('Z'), "UTC");
        chrono::NaiveDate::parse_from_str(r.header("Leye-Effective-Date"), "%Y-%m-%d").expect("YYYY-MM-DD");
        for uuid in ["Leye-Event-Id", "Leye-Case-Id", "Leye-Command-Id", "Leye-Correlation-Id", "Leye-Causation-Id"] {
            Uuid::parse_str(r.header(uuid)).unwrap_or_else(|_| panic!("{uuid} is a UUID: {:?}", r.header(uuid)));
        }
    }
    let sole = all.last().unwrap();
    let Some(epb::enterprise_event::Event::Registered(r)) =
        epb::EnterpriseEvent::decode(sole.payload.as_slice()).unwrap().event
    else {
        panic!("an enterprise registration")
    };
    assert_eq!(r.name, "", "a sole proprietorship's name is withheld");
    let e = &all[all.len() - 2];
    assert_eq!(e.subject, "leye.v1.enterprise.120116.registered");
    assert_eq!(e.header("Leye-Payload-Type"), "leye.enterprise.v1.EnterpriseEvent");
    assert_eq!(e.header("Leye-Case-Id"), enterprise.case_id);
    let decoded = epb::EnterpriseEvent::decode(e.payload.as_slice()).expect("an enterprise payload decodes");
    assert!(matches!(decoded.event, Some(epb::enterprise_event::Event::Registered(_))));

    // One district: exactly its persons' events.
    let by_id: HashMap<&str, &Sent> = sent.iter().map(|s| (s.event_id.as_str(), s)).collect();
    let xiqing: Vec<&Sent> = sent.iter().filter(|s| s.district == "120111").collect();
    let got = read_filtered(&js, STREAM, "leye.v1.person.120111.>", xiqing.len()).await;
    let want: HashSet<&str> = xiqing.iter().map(|s| s.event_id.as_str()).collect();
    let have: HashSet<&str> = got.iter().map(|r| r.header("Leye-Event-Id")).collect();
    assert_eq!(have, want, "a district filter receives exactly that district's events");
    for r in &got {
        let s = by_id[r.header("Leye-Event-Id")];
        assert_eq!(r.person(), s.event, "the payload is the fact, personal data withheld");
        assert_eq!(r.header("Leye-Revision"), s.revision.to_string());
    }
    // Every district and kind of one event type; one district's enterprises.
    assert_eq!(read_filtered(&js, STREAM, "leye.v1.*.*.registered", 10).await.len(), 10);
    assert_eq!(read_filtered(&js, STREAM, "leye.v1.person.*.placed", 8).await.len(), 8);
    assert_eq!(read_filtered(&js, STREAM, "leye.v1.enterprise.120116.>", 2).await.len(), 2);
    leye.terminate().await;
}

/// A person registered in one district who, after a placement, registers
/// again living in another: the move's registration and every later event
/// are published under the new district, the earlier ones stayed under the
/// old. (What a subscriber of the old district is told about the move is not
/// documented: it receives nothing. The docs say only "the case's district (a
/// person's residence)".)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_moving_district_is_published_under_the_new_district_from_the_move_on() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let data = data_dir(dir.path());
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    let mut client = leye.client().await;
    // Person 4 lives in DISTRICTS[0] = 120101: four events there.
    let first = run_case(&mut client, 4).await;
    assert_eq!(first[0].district, "120101");
    let case_id = first[0].case_id.clone();
    // The placement ends; registers again, now living in 120116; a contact.
    client
        .end_placement(pb::EndPlacementRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: today_bj(),
            end: Some(pb::PlacementEnd { reason: pb::PlacementEndReason::Resigned as i32 }),
        })
        .await
        .expect("placement ended");
    let moved = client
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: today_bj(),
            registration: Some(registration(4, "120116")),
        })
        .await
        .expect("a second registration, elsewhere")
        .into_inner()
        .result
        .unwrap();
    assert_eq!(moved.case_id, case_id, "the same case continues");
    client
        .record_contact(pb::RecordContactRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: today_bj(),
            contact: Some(pb::Contact {
                channel: pb::ContactChannel::Phone as i32,
                outcome: pb::ContactOutcome::StillSeeking as i32,
                note: String::new(),
            }),
        })
        .await
        .expect("contact");
    let js = jetstream(&[nats.url()]).await;
    wait_count(&js, STREAM, 7).await;
    let all = read_filtered(&js, STREAM, "leye.v1.>", 7).await;
    let subjects: Vec<&str> = all.iter().map(|r| r.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "leye.v1.person.120101.registered",
            "leye.v1.person.120101.contacted",
            "leye.v1.person.120101.job_recommended",
            "leye.v1.person.120101.placed",
            "leye.v1.person.120101.placement_ended",
            "leye.v1.person.120116.registered",
            "leye.v1.person.120116.contacted",
        ]
    );
    let revisions: Vec<&str> = all.iter().map(|r| r.header("Leye-Revision")).collect();
    assert_eq!(revisions, ["0", "1", "2", "3", "4", "5", "6"], "one case, in revision order across the move");
    // The old district's subscriber sees the case up to the placement's end only.
    assert_eq!(read_filtered(&js, STREAM, "leye.v1.person.120101.>", 5).await.len(), 5);
    assert_eq!(read_filtered(&js, STREAM, "leye.v1.person.120116.>", 2).await.len(), 2);
    leye.terminate().await;
}

/// README: "On `personal_data_erased` subscribers delete their copies of
/// the person's data. That event goes to the district the person lives in
/// when erased: a subscriber filtering by district also follows
/// `leye.v1.person.*.personal_data_erased`". With `nats_personal_data =
/// true`, a district's subscriber received a person's resident ID and name;
/// the person moves away and is erased: that subscriber, filtering as the
/// README says (it once said only "one district"), is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_reaches_the_district_subscriber_that_received_the_persons_data_before_a_move() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let data = data_dir(dir.path());
    let mut leye = Leye::start(&data, Some(&nats.url()), &["--nats-personal-data", "true"]).await;
    let mut client = leye.client().await;
    let js = jetstream(&[nats.url()]).await;
    // Person 4 registers living in 120101; its subscriber gets the resident ID.
    let first = run_case(&mut client, 4).await;
    let case_id = first[0].case_id.clone();
    wait_count(&js, STREAM, 4).await;
    let old = read_filtered(&js, STREAM, "leye.v1.person.120101.>", 4).await;
    let Some(pb::person_event::Event::Registered(reg)) = old[0].person().event else { panic!("registration") };
    assert_eq!(reg.resident_id, resident_id(4), "the 120101 subscriber holds the resident ID");
    // Moves to 120116, then is erased.
    client
        .end_placement(pb::EndPlacementRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: today_bj(),
            end: Some(pb::PlacementEnd { reason: pb::PlacementEndReason::Resigned as i32 }),
        })
        .await
        .expect("placement ended");
    client
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: today_bj(),
            registration: Some(registration(4, "120116")),
        })
        .await
        .expect("registered again in 120116");
    let mut supervisor = pb::person_case_service_client::PersonCaseServiceClient::new(
        authed(leye.addr, &supervisor_token(&data)).await.unwrap(),
    );
    supervisor
        .erase_personal_data(pb::ErasePersonalDataRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: today_bj(),
            erasure: Some(pb::PersonalDataErasure { ground: pb::ErasureGround::ConsentWithdrawn as i32 }),
        })
        .await
        .expect("erased");
    wait_count(&js, STREAM, 7).await;
    let all = read_filtered(&js, STREAM, "leye.v1.>", 7).await;
    let erasure = all.last().unwrap();
    assert_eq!(erasure.header("Leye-Event-Type"), "person.personal_data_erased");
    // What the 120101 subscriber receives, filtering as the README says: its
    // district, and erasures in every district.
    let subjects: Vec<String> = all
        .iter()
        .filter(|r| r.subject.starts_with("leye.v1.person.120101.") || r.subject.ends_with(".personal_data_erased"))
        .map(|r| r.subject.clone())
        .collect();
    assert!(
        subjects.iter().any(|s| s.ends_with(".personal_data_erased")),
        "the erasure went to {}; the 120101 subscriber holding the resident ID received {subjects:?}",
        erasure.subject
    );
    leye.terminate().await;
}

// ============================================================================
// Ordering, gaps and duplicates across NATS down at start, restarts
// ============================================================================

/// docs/OPERATIONS.md: "NATS being down never stops commands … catches up when
/// NATS is back"; README: "The stream holds the events in leye's global log
/// order, without gaps". leye starts with NATS down, takes commands, NATS
/// comes up; then leye restarts (SIGTERM), then NATS restarts (SIGKILL) while
/// commands go on: positions 1..=n, each once, per case in revision order.
/// Health and `leye health` follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_at_start_then_restarts_of_both_leave_no_gap_and_no_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start(dir.path()).await;
    nats.kill().await; // its port is ours; nothing listens there now
    let data = data_dir(dir.path());
    let mut leye = Leye::start(&data, Some(&nats.url()), &["--publisher-max-lag-secs", "2"]).await;
    let mut sent = run_clients(leye.addr, leye.token(), 4, 2, 0).await;
    leye.wait_health(ServingStatus::NotServing, MINUTE).await;
    eventually("the backlog in the metrics", MINUTE, || async {
        let lag = leye.metric("leye_publisher_lag_events").await?;
        let connected = leye.metric("leye_publisher_connected").await?;
        (lag == sent.len() as f64 && connected == 0.0).then_some(())
    })
    .await;
    assert_ne!(health_exit(leye.addr).await, 0, "leye health fails while NOT_SERVING");

    nats.restart().await;
    let js = jetstream(&[nats.url()]).await;
    wait_count(&js, STREAM, sent.len() as u64).await;
    leye.wait_health(ServingStatus::Serving, MINUTE).await;
    assert_eq!(health_exit(leye.addr).await, 0, "leye health exits 0 when SERVING");

    // leye restarts (clean stop), more commands.
    leye.terminate().await;
    let mut leye = Leye::start(&data, Some(&nats.url()), &["--publisher-max-lag-secs", "2"]).await;
    sent.extend(run_clients(leye.addr, leye.token(), 4, 2, 100).await);
    wait_count(&js, STREAM, sent.len() as u64).await;

    // NATS is killed; commands go on; it comes back while they still do.
    nats.kill().await;
    let (addr, token) = (leye.addr, leye.token());
    let load = tokio::spawn(async move { run_clients(addr, token, 4, 3, 200).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    nats.restart().await;
    sent.extend(tokio::time::timeout(Duration::from_secs(120), load).await.expect("commands finish").unwrap());
    let js = jetstream(&[nats.url()]).await;
    wait_count(&js, STREAM, sent.len() as u64).await;
    let all = read_filtered(&js, STREAM, "leye.v1.>", sent.len()).await;
    assert_gapless_once(&all, sent.len() as u64);
    // Not promised, but the README's example (`seq=17 … position=17`) shows
    // it: on one store the stream sequence is the log position.
    assert!(all.iter().all(|r| r.stream_sequence == r.position()), "stream sequence = global position");
    let received: Vec<Received> = all
        .iter()
        .map(|r| Received { subject: r.subject.clone(), headers: r.headers.clone(), event: r.person() })
        .collect();
    assert_each_once_in_case_order(&received, &sent);
    leye.wait_health(ServingStatus::Serving, MINUTE).await;
    eventually("lag 0", MINUTE, || async {
        (leye.metric("leye_publisher_lag_events").await == Some(0.0)).then_some(())
    })
    .await;
    // The documented publisher series are on the page.
    let page = leye.metrics_text().await.unwrap();
    for name in [
        "leye_publisher_lag_events",
        "leye_publisher_lag_seconds",
        "leye_publisher_connected",
        "leye_publisher_checkpoint_position",
        "leye_publisher_published_total",
        "leye_store_head_position",
    ] {
        assert!(page.lines().any(|l| l.starts_with(name)), "{name} on /metrics");
    }
    assert_eq!(leye.metric("leye_store_head_position").await, Some(sent.len() as f64));
    leye.terminate().await;
}

/// docs/OPERATIONS.md: `leye.Publisher` is "`SERVING` while connected and the
/// oldest unpublished event is younger than `publisher_max_lag_secs`,
/// `NOT_SERVING` otherwise"; the log says `publisher behind`. NATS is frozen
/// (SIGSTOP: the connection stays up, acks do not come; ack timeout 30 s so
/// the session stays open): with a 1 s maximum the status turns NOT_SERVING
/// while still connected and publishing, and SERVING again once NATS thaws.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_serving_once_the_lag_exceeds_publisher_max_lag_secs_while_connected() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("js.conf");
    std::fs::write(
        &conf,
        format!("jetstream {{\n  store_dir: {:?}\n  max_file_store: 64GB\n}}\n", dir.path().join("js")),
    )
    .unwrap();
    let mut nats = tokio::process::Command::new(nats_server_bin())
        .args(["-c", &conf.display().to_string(), "-js", "-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = nats.id().unwrap().to_string();
    let url = format!("nats://127.0.0.1:{port}");
    let js = jetstream(std::slice::from_ref(&url)).await;
    let data = data_dir(dir.path());
    let flags = ["--publisher-max-lag-secs", "1", "--nats-ack-timeout-secs", "30"];
    let mut leye = Leye::start(&data, Some(&url), &flags).await;
    let mut client = leye.client().await;
    let sent = run_case(&mut client, 1).await;
    wait_count(&js, STREAM, 4).await;
    leye.wait_health(ServingStatus::Serving, MINUTE).await;

    let signal = |sig: &'static str| {
        let pid = pid.clone();
        async move { assert!(tokio::process::Command::new("kill").args([sig, &pid]).status().await.unwrap().success()) }
    };
    signal("-STOP").await;
    client
        .record_contact(pb::RecordContactRequest {
            context: ctx(),
            case_id: sent[0].case_id.clone(),
            effective_date: today_bj(),
            contact: Some(pb::Contact {
                channel: pb::ContactChannel::HomeVisit as i32,
                outcome: pb::ContactOutcome::StillSeeking as i32,
                note: String::new(),
            }),
        })
        .await
        .expect("commands go on");
    let went = tokio::time::timeout(
        Duration::from_secs(10),
        leye.wait_health(ServingStatus::NotServing, Duration::from_secs(10)),
    )
    .await;
    let connected = leye.metric("leye_publisher_connected").await;
    let publishing = leye.metric("leye_publisher_publishing").await;
    let lag = leye.metric("leye_publisher_lag_seconds").await;
    // Long enough for the log's warning (it waits out 1 s of NOT_SERVING).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    signal("-CONT").await;
    assert!(went.is_ok(), "NOT_SERVING within 10 s of an unpublished event (max lag 1 s)");
    assert_eq!((connected, publishing), (Some(1.0), Some(1.0)), "still connected and publishing: the lag decided");
    assert!(lag.unwrap() > 1.0, "lag_seconds {lag:?}");
    leye.wait_health(ServingStatus::Serving, MINUTE).await;
    wait_count(&js, STREAM, 5).await;
    assert!(leye.log_text().contains("publisher behind"), "the lag in the log");
    leye.terminate().await;
    let _ = nats.kill().await;
}

// ============================================================================
// Stream settings
// ============================================================================

/// docs/OPERATIONS.md's table: `--nats-stream`, `--nats-max-age-days` (0: no
/// limit), `--nats-max-bytes` (0: no limit), `--nats-duplicate-window-secs`
/// are applied to the stream on start, and a changed setting updates it; the
/// defaults are 30 days and 10 GiB. `leye consume --stream` reads another
/// stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_limits_from_the_configuration_are_applied_and_updated() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let data = data_dir(dir.path());
    let js = jetstream(&[nats.url()]).await;

    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    leye.wait_health(ServingStatus::Serving, MINUTE).await;
    let c = js.get_stream(STREAM).await.unwrap().info().await.unwrap().config.clone();
    assert_eq!(c.subjects, ["leye.v1.>"]);
    assert_eq!(c.max_age, Duration::from_secs(30 * 86400));
    assert_eq!(c.max_bytes, 10 * 1024 * 1024 * 1024);
    assert_eq!(c.duplicate_window, Duration::from_secs(3600));
    leye.terminate().await;

    let custom = [
        "--nats-stream",
        "LEYE_TEST",
        "--nats-max-age-days",
        "7",
        "--nats-max-bytes",
        "1048576",
        "--nats-duplicate-window-secs",
        "600",
    ];
    // The default stream is left; a second one would overlap its subjects,
    // so it goes first (an operator renaming the stream does the same).
    js.delete_stream(STREAM).await.unwrap();
    let mut leye = Leye::start(&data, Some(&nats.url()), &custom).await;
    let mut client = leye.client().await;
    run_case(&mut client, 1).await;
    wait_count(&js, "LEYE_TEST", 4).await;
    let c = js.get_stream("LEYE_TEST").await.unwrap().info().await.unwrap().config.clone();
    assert_eq!(c.max_age, Duration::from_secs(7 * 86400));
    assert_eq!(c.max_bytes, 1_048_576);
    assert_eq!(c.duplicate_window, Duration::from_secs(600));
    let printed =
        consume(&["--nats-url", &nats.url(), "--durable", "d", "--stream", "LEYE_TEST", "--max-events", "4"]).await;
    assert_eq!(printed.lines().count(), 4, "{printed}");
    leye.terminate().await;

    // 0: no limit; the existing stream is updated.
    let unlimited = ["--nats-stream", "LEYE_TEST", "--nats-max-age-days", "0", "--nats-max-bytes", "0"];
    let mut leye = Leye::start(&data, Some(&nats.url()), &unlimited).await;
    leye.wait_health(ServingStatus::Serving, MINUTE).await;
    let c = js.get_stream("LEYE_TEST").await.unwrap().info().await.unwrap().config.clone();
    assert_eq!(c.max_age, Duration::ZERO, "0 days: no age limit");
    assert_eq!(c.max_bytes, -1, "0 bytes: no size limit");
    assert_eq!(c.duplicate_window, Duration::from_secs(3600), "back to the default window");
    assert_eq!(messages_in(&js, "LEYE_TEST").await, Some(4), "nothing lost or re-published by the update");
    leye.terminate().await;
}

// ============================================================================
// leye consume
// ============================================================================

/// README: `leye consume … --subject 'leye.v1.person.120111.>'` prints one line
/// per event (`seq= event= type= case= revision= position= effective=
/// subject= fact=`), masked, only the subject asked for, in log order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leye_consume_prints_the_documented_line_for_the_subject_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let data = data_dir(dir.path());
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    let mut client = leye.client().await;
    let mut sent = Vec::new();
    for person in [1, 5] {
        // both in 120111
        sent.extend(run_case(&mut client, person).await);
    }
    run_case(&mut client, 2).await; // 120116
    let js = jetstream(&[nats.url()]).await;
    wait_count(&js, STREAM, 12).await;
    let url = nats.url();
    let filter = ["--nats-url", url.as_str(), "--durable", "xiqing", "--subject", "leye.v1.person.120111.>"];
    // (Resuming a durable is checked on its own below.)
    let printed = consume(&[&filter[..], &["--max-events", "8"]].concat()).await;
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 8);
    for (line, s) in lines.iter().zip(&sent) {
        let want = format!("event={} type={} case={} revision={} ", s.event_id, s.event_type, s.case_id, s.revision);
        assert!(line.starts_with("seq=") && line.contains(&want), "{line}\nwant {want}");
        assert!(line.contains(&format!(" effective={} ", s.effective_date)), "{line}");
        assert!(line.contains(" subject=leye.v1.person.120111."), "{line}");
        assert!(line.contains(" position=") && line.contains(" fact="), "{line}");
        assert!(!line.contains(NAME) && !line.contains(&resident_id(1)) && !line.contains(&resident_id(5)));
    }
    leye.terminate().await;
}

/// README: `leye consume` "acknowledges it; run again with the same
/// `--durable` it continues where it stopped". A run that stopped after one
/// event (`--max-events 1`), run again with `--max-events 1`, must print the
/// next event of the log (position 2) at once. It prints a later one, or
/// nothing for 30 s: the stopped run had pulled a batch ahead
/// (`consumer.messages()` in `src/consume.rs`) and left it delivered but
/// unacknowledged, so JetStream holds those messages back until `ack_wait`
/// (30 s) and hands out newer ones first: out of the log's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leye_consume_run_again_continues_with_the_next_event_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let data = data_dir(dir.path());
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    let mut client = leye.client().await;
    run_case(&mut client, 1).await; // positions 1..=4, 120111
    let js = jetstream(&[nats.url()]).await;
    wait_count(&js, STREAM, 4).await;
    let url = nats.url();
    let args = ["--nats-url", url.as_str(), "--durable", "resume", "--subject", "leye.v1.person.>"];
    let first = consume(&[&args[..], &["--max-events", "1"]].concat()).await;
    assert!(first.contains(" position=1 "), "{first}");
    // More events are recorded meanwhile (positions 5..=8).
    run_case(&mut client, 5).await;
    wait_count(&js, STREAM, 8).await;
    let started = std::time::Instant::now();
    let second = tokio::time::timeout(
        Duration::from_secs(15),
        leye_cmd().arg("consume").args(args).args(["--max-events", "1"]).output(),
    )
    .await;
    let printed = match second {
        Ok(out) => String::from_utf8(out.unwrap().stdout).unwrap(),
        Err(_) => String::from("(nothing within 15 s)"),
    };
    assert!(
        printed.contains(" position=2 "),
        "run again, leye consume continues with position 2; it printed after {:?}: {printed}",
        started.elapsed()
    );
    leye.terminate().await;
}

/// `--subject` says which events `leye consume` prints ("Which events: a
/// subject filter"). Run again on the same `--durable` with another
/// `--subject`, it must print that subject's events or refuse; it must not
/// print events of a subject nobody asked for. Here the first run reads all
/// of 120111's events, another 120111 case is recorded, and the second run
/// asks for 120116 but prints 120111's new events (the durable consumer is
/// reused with its old filter: `get_or_create_consumer` in `src/consume.rs`
/// ignores the new config).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leye_consume_with_another_subject_on_an_existing_durable_prints_only_that_subject() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let data = data_dir(dir.path());
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    let mut client = leye.client().await;
    run_case(&mut client, 1).await; // 120111
    run_case(&mut client, 2).await; // 120116
    let js = jetstream(&[nats.url()]).await;
    wait_count(&js, STREAM, 8).await;
    let url = nats.url();
    let first = consume(&[
        "--nats-url",
        &url,
        "--durable",
        "office",
        "--subject",
        "leye.v1.person.120111.>",
        "--max-events",
        "4",
    ])
    .await;
    // All of 120111's events so far: nothing left pending on the durable.
    assert_eq!(first.lines().filter(|l| l.contains(" subject=leye.v1.person.120111.")).count(), 4, "{first}");
    run_case(&mut client, 5).await; // 120111 again
    wait_count(&js, STREAM, 12).await;
    let printed_file = dir.path().join("second-run.txt");
    let second = tokio::time::timeout(
        Duration::from_secs(15),
        leye_cmd()
            .stdout(std::fs::File::create(&printed_file).unwrap())
            .args([
                "consume",
                "--nats-url",
                &url,
                "--durable",
                "office",
                "--subject",
                "leye.v1.person.120116.>",
                "--max-events",
                "2",
            ])
            .status(),
    )
    .await;
    let printed = std::fs::read_to_string(&printed_file).unwrap();
    for line in printed.lines() {
        assert!(line.contains(" subject=leye.v1.person.120116."), "asked for leye.v1.person.120116.>, printed: {line}");
    }
    let finished = second.map(|s| s.map(|s| s.success()));
    assert!(
        matches!(finished, Ok(Ok(_))),
        "leye consume --subject leye.v1.person.120116.> --max-events 2 on the existing durable neither printed the \
         two 120116 events nor refused within 15 s ({finished:?}); printed: {printed:?}"
    );
    leye.terminate().await;
}

// ============================================================================
// Erasure
// ============================================================================

/// README "Personal data": `ErasePersonalData` "records
/// `person.personal_data_erased` (no personal data in it; published on
/// NATS)". The erasure's message is checked (subject, headers, payload,
/// order after the registration). With `nats_personal_data = true`, messages
/// already in the stream keep the data until they age out (README,
/// "Consuming events", since a review found the README silent on it): a
/// subscriber starting later meets the data, then the erasure to apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_subscriber_meets_the_erasure_after_the_data_it_erases() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let data = data_dir(dir.path());
    let person = 3; // 120119
    let mut leye = Leye::start(&data, Some(&nats.url()), &["--nats-personal-data", "true"]).await;
    let mut client = leye.client().await;
    let sent = run_case(&mut client, person).await;
    let case_id = sent[0].case_id.clone();
    let js = jetstream(&[nats.url()]).await;
    wait_count(&js, STREAM, 4).await;
    // Entitled subscribers received the resident ID and name.
    let early = read_filtered(&js, STREAM, "leye.v1.person.120119.registered", 1).await;
    let Some(pb::person_event::Event::Registered(reg)) = early[0].person().event else { panic!("registration") };
    assert_eq!((reg.resident_id.as_str(), reg.name.as_str()), (resident_id(person).as_str(), NAME));
    let mut supervisor = pb::person_case_service_client::PersonCaseServiceClient::new(
        authed(leye.addr, &supervisor_token(&data)).await.unwrap(),
    );
    let erased = supervisor
        .erase_personal_data(pb::ErasePersonalDataRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: today_bj(),
            erasure: Some(pb::PersonalDataErasure { ground: pb::ErasureGround::ConsentWithdrawn as i32 }),
        })
        .await
        .expect("erased")
        .into_inner()
        .result
        .unwrap();
    wait_count(&js, STREAM, 5).await;

    // The erasure's message, as documented.
    let erasure = read_filtered(&js, STREAM, "leye.v1.*.*.personal_data_erased", 1).await.remove(0);
    assert_eq!(erasure.subject, "leye.v1.person.120119.personal_data_erased");
    assert_eq!(erasure.header("Leye-Event-Type"), "person.personal_data_erased");
    assert_eq!(erasure.header("Leye-Case-Id"), case_id);
    assert_eq!(erasure.header("Leye-Event-Id"), erased.event_ids[0]);
    assert_eq!(erasure.header("Leye-Revision"), "4");
    assert_eq!(erasure.position(), 5);
    let Some(pb::person_event::Event::PersonalDataErased(e)) = erasure.person().event else {
        panic!("the payload is PersonEvent.personal_data_erased")
    };
    assert_eq!(e.ground, pb::ErasureGround::ConsentWithdrawn as i32);
    let everything = format!("{:?}{:?}", erasure.headers, erasure.payload);
    assert!(!everything.contains(&resident_id(person)), "no personal data in the erasure");

    // A subscriber that starts now, from the beginning of the stream, meets
    // the data and then the erasure it must apply (README: messages keep the
    // data until they age out; a late subscriber applies the erasures it meets).
    let late = read_filtered(&js, STREAM, "leye.v1.person.120119.>", 5).await;
    assert!(matches!(late[0].person().event, Some(pb::person_event::Event::Registered(_))), "registration first");
    assert_eq!(late.last().unwrap().header("Leye-Event-Type"), "person.personal_data_erased", "then the erasure");
    leye.terminate().await;
}
