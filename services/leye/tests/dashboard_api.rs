//! The dashboard's JSON API over real HTTP against `leye serve` on a
//! generated population: the same figures as gRPC, the same principals and
//! rules (401, 403 out of jurisdiction or without the role), errors naming
//! the field, every request in the audit trail, the security headers.

mod dash;
mod support;

use chrono::Datelike;
use dash::{HEPING, Served, XIQING, get, token};
use leye_auth::Role;
use leye_proto::analytics::v1 as pb;

fn this_year() -> (String, String) {
    let today = chrono::Utc::now().date_naive();
    (format!("{}-01-01", today.year()), today.format("%Y-%m-%d").to_string())
}

/// Audit records of `operation` by `principal`: (outcome, reason).
fn audited(data_dir: &std::path::Path, principal: &str, operation: &str) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open_with_flags(
        data_dir.join("audit.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("audit trail");
    let mut q = conn
        .prepare("SELECT outcome, reason FROM records WHERE principal = ?1 AND operation = ?2 ORDER BY seq")
        .unwrap();
    q.query_map([principal, operation], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

/// Whether `text` holds something shaped like a resident ID (17 digits and a
/// digit or X): no answer or log line may.
fn has_resident_id(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(18).any(|w| w[..17].iter().all(u8::is_ascii_digit) && (w[17].is_ascii_digit() || w[17] == b'X'))
}

/// `GET` through the dashboard; the answer carries no resident ID.
async fn fetch(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> Option<dash::Answer> {
    let a = get(addr, path, token).await?;
    assert!(!has_resident_id(&a.body), "{path} answered a resident ID");
    Some(a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_api_answers_as_grpc_does_under_the_same_rules_and_audits_every_request() {
    let dir = tempfile::tempdir().unwrap();
    dash::generate(dir.path(), 300).await;
    let served = Served::start(dir.path()).await;
    served.settle().await;
    let (from, to) = this_year();
    let heping = token(dir.path(), "analyst-hp", &[Role::Analyst], &[HEPING]);
    let city = token(dir.path(), "analyst-city", &[Role::Analyst], &["120000"]);
    let grpc = |t: String| {
        let addr = served.grpc;
        async move {
            pb::targets_service_client::TargetsServiceClient::new(
                support::authed(addr, &t).await.expect("gRPC channel"),
            )
        }
    };

    // Targets of Heping this year: every figure equals gRPC's.
    let path = format!("/api/v1/targets?jurisdiction={HEPING}&period_from={from}&period_to={to}");
    let a = fetch(served.dashboard, &path, Some(&heping)).await.expect("answer");
    assert_eq!(a.status, 200, "{}", a.body);
    for (h, v) in [
        ("content-security-policy", "default-src 'self'"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert!(a.header(h).is_some_and(|x| x.starts_with(v)), "{h}: {:?}", a.header(h));
    }
    let json = a.json();
    let mut client = grpc(heping.clone()).await;
    let req = pb::GetTargetsRequest {
        jurisdiction: HEPING.into(),
        period_from: from.clone(),
        period_to: to.clone(),
        ..Default::default()
    };
    let want = client.get_targets(req.clone()).await.expect("gRPC targets").into_inner();
    assert_eq!(json["checkpoint_position"], want.checkpoint_position);
    assert_eq!(json["as_of"], want.as_of.as_str());
    let targets = json["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), want.targets.len());
    assert!(want.targets.iter().any(|t| t.denominator.unwrap_or(0) > 0), "the population gives Heping figures");
    for (j, g) in targets.iter().zip(&want.targets) {
        assert_eq!(j["id"], g.id.as_str());
        assert_eq!(j["numerator"], g.numerator, "{}", g.id);
        assert_eq!(j["denominator"].as_i64(), g.denominator, "{}", g.id);
        assert_eq!(j["goal"], g.goal.as_str(), "{}", g.id);
        assert_eq!(j["met"].as_bool(), g.met, "{}", g.id);
        // serde_json parses floats to within one ulp (no `float_roundtrip`).
        let v = j["value"].as_f64().expect("a value");
        assert!((v - g.value).abs() <= 1e-12 * g.value.abs().max(1.0), "{}: {v} vs {}", g.id, g.value);
    }
    assert_eq!(json["budgets"].as_array().map(Vec::len), Some(want.budgets.len()));
    assert!(json["read_model"]["position"].as_u64().is_some(), "{}", json["read_model"]);

    // Subsidy totals and communities: the same rows.
    let path = format!("/api/v1/subsidy-totals?jurisdiction={HEPING}&period_from={from}&period_to={to}");
    let a = fetch(served.dashboard, &path, Some(&heping)).await.unwrap();
    let totals = pb::ListSubsidyTotalsRequest {
        jurisdiction: req.jurisdiction.clone(),
        period_from: req.period_from.clone(),
        period_to: req.period_to.clone(),
        as_of: req.as_of.clone(),
        min_position: 0,
    };
    let want = client.list_subsidy_totals(totals).await.unwrap().into_inner();
    let rows: Vec<(String, i64, i64)> = a.json()["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["programme"].as_str().unwrap().to_string(),
                t["grants"].as_i64().unwrap(),
                t["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    let want_rows: Vec<(String, i64, i64)> =
        want.totals.iter().map(|t| (t.programme.clone(), t.grants, t.amount_fen)).collect();
    assert_eq!(rows, want_rows);
    let path = format!("/api/v1/communities?jurisdiction={HEPING}&period_from={from}&period_to={to}");
    let a = fetch(served.dashboard, &path, Some(&heping)).await.unwrap();
    let communities = pb::ListCommunitiesRequest {
        jurisdiction: req.jurisdiction.clone(),
        period_from: req.period_from.clone(),
        period_to: req.period_to.clone(),
        as_of: req.as_of.clone(),
        min_position: 0,
    };
    let want = client.list_communities(communities).await.unwrap().into_inner();
    let rows: Vec<(String, i64, i64)> = a.json()["communities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["community"].as_str().unwrap().to_string(),
                c["employed"].as_i64().unwrap(),
                c["unemployed"].as_i64().unwrap(),
            )
        })
        .collect();
    let want_rows: Vec<(String, i64, i64)> =
        want.communities.iter().map(|c| (c.community.clone(), c.employed, c.unemployed)).collect();
    assert_eq!(rows, want_rows);

    // An action list, paged: page by page the same items as gRPC.
    let mut city_client = grpc(city.clone()).await;
    let mut token_http = String::new();
    let mut pages = 0;
    loop {
        let path = format!("/api/v1/actions?list=long_term_unemployed&page_size=7&page_token={token_http}");
        let a = fetch(served.dashboard, &path, Some(&city)).await.unwrap();
        assert_eq!(a.status, 200, "{}", a.body);
        let j = a.json();
        let want = city_client
            .list_actions(pb::ListActionsRequest {
                list: pb::ActionList::LongTermUnemployed as i32,
                page_size: 7,
                page_token: token_http.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let ids: Vec<&str> = j["items"].as_array().unwrap().iter().map(|i| i["case_id"].as_str().unwrap()).collect();
        let want_ids: Vec<&str> = want.items.iter().map(|i| i.case_id.as_str()).collect();
        assert_eq!(ids, want_ids);
        assert_eq!(j["total"], want.total);
        assert_eq!(j["next_page_token"], want.next_page_token.as_str());
        pages += 1;
        token_http = want.next_page_token;
        if token_http.is_empty() || pages == 3 {
            break;
        }
    }
    assert!(pages >= 2, "the list has more than one page of 7");

    // Eligible (政策找人): the same items.
    let a = fetch(served.dashboard, "/api/v1/eligible?page_size=50", Some(&city)).await.unwrap();
    let want = city_client
        .list_eligible(pb::ListEligibleRequest { page_size: 50, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let j = a.json();
    assert_eq!(j["total"], want.total);
    assert!(want.total > 0, "the policy finder found eligible cases to compare");
    let got: Vec<(&str, &str)> = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["case_id"].as_str().unwrap(), i["rule_id"].as_str().unwrap()))
        .collect();
    let want_items: Vec<(&str, &str)> = want.items.iter().map(|i| (i.case_id.as_str(), i.rule_id.as_str())).collect();
    assert_eq!(got, want_items);

    // A household, from the zero-employment list.
    let a = fetch(served.dashboard, "/api/v1/actions?list=zero_employment_households", Some(&city)).await.unwrap();
    if let Some(h) = a.json()["items"].as_array().and_then(|i| i.first()).map(|i| i["household_id"].clone()) {
        let id = h.as_str().unwrap();
        let a = fetch(served.dashboard, &format!("/api/v1/households/{id}"), Some(&city)).await.unwrap();
        assert_eq!(a.status, 200, "{}", a.body);
        let want = city_client
            .get_household(pb::GetHouseholdRequest { household_id: id.into(), ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(a.json()["members"].as_array().map(Vec::len), Some(want.members.len()));
        assert_eq!(a.json()["zero_employment"], want.zero_employment);
    }
    let a =
        fetch(served.dashboard, &format!("/api/v1/households/{}", uuid::Uuid::new_v4()), Some(&city)).await.unwrap();
    assert_eq!(a.status, 404, "{}", a.body);

    // Heping's analyst cannot see Xiqing: 403, as over gRPC.
    let path = format!("/api/v1/targets?jurisdiction={XIQING}&period_from={from}&period_to={to}");
    let a = fetch(served.dashboard, &path, Some(&heping)).await.unwrap();
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(a.json()["error"]["reason"], "OUT_OF_JURISDICTION");
    let denied = client
        .get_targets(pb::GetTargetsRequest { jurisdiction: XIQING.into(), ..req.clone() })
        .await
        .expect_err("gRPC refuses too");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let a = fetch(served.dashboard, "/api/v1/actions?list=exit_review", Some(&heping)).await.unwrap();
    assert_eq!(a.status, 403, "the city is outside Heping: {}", a.body);

    // No token, a forged token: 401. A role the rule does not list: 403.
    let a = fetch(served.dashboard, &path, None).await.unwrap();
    assert_eq!((a.status, a.json()["error"]["reason"].as_str()), (401, Some("CREDENTIALS_MISSING")));
    assert_eq!(a.header("www-authenticate"), Some("Bearer"));
    let forged = format!("{}x", &heping[..heping.len() - 1]);
    let a = fetch(served.dashboard, &path, Some(&forged)).await.unwrap();
    assert_eq!(a.status, 401, "{}", a.body);
    let auditor = token(dir.path(), "auditor-1", &[Role::Auditor], &["120000"]);
    let a = fetch(served.dashboard, &path, Some(&auditor)).await.unwrap();
    assert_eq!((a.status, a.json()["error"]["reason"].as_str()), (403, Some("ROLE_MISSING")));

    // Bad fields are named with their rule; unknown parameters too.
    let path = format!("/api/v1/targets?jurisdiction={HEPING}&period_from=2026-13-01&period_to={to}");
    let a = fetch(served.dashboard, &path, Some(&heping)).await.unwrap();
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.json()["error"]["fields"][0]["field"], "period_from");
    let a = fetch(served.dashboard, "/api/v1/actions?list=everyone", Some(&city)).await.unwrap();
    assert_eq!((a.status, a.json()["error"]["fields"][0]["field"].as_str()), (400, Some("list")));
    let a = fetch(served.dashboard, "/api/v1/eligible?jurisdiction=120101&name=x", Some(&city)).await.unwrap();
    assert_eq!((a.status, a.json()["error"]["fields"][0]["field"].as_str()), (400, Some("name")));
    let a = fetch(served.dashboard, "/api/v1/cases", Some(&city)).await.unwrap();
    assert_eq!(a.status, 404);
    // The API only reads: another method is refused as JSON, naming the allowed ones.
    let conn = tokio::net::TcpStream::connect(served.dashboard).await.unwrap();
    let a = dash::request_over(conn, "POST", "/api/v1/targets?jurisdiction=120101", Some(&city)).await.unwrap();
    assert_eq!((a.status, a.json()["error"]["reason"].as_str()), (405, Some("READ_ONLY")), "{}", a.body);
    assert_eq!(a.header("allow"), Some("GET,HEAD"));

    // Every request is in the audit trail, with its outcome and reason.
    let targets_op = "http/leye.analytics.v1.TargetsService/GetTargets";
    let records = audited(dir.path(), "analyst-hp", targets_op);
    assert_eq!(
        records,
        vec![
            ("OK".to_string(), String::new()),
            ("PERMISSION_DENIED".to_string(), "OUT_OF_JURISDICTION".to_string()),
            ("INVALID_ARGUMENT".to_string(), String::new()),
        ]
    );
    assert_eq!(audited(dir.path(), "auditor-1", targets_op), vec![("PERMISSION_DENIED".into(), "ROLE_MISSING".into())]);
    assert_eq!(audited(dir.path(), "", targets_op).len(), 2, "the unauthenticated requests");
    let pages_audited = audited(dir.path(), "analyst-city", "http/leye.analytics.v1.TargetsService/ListActions");
    assert!(pages_audited.len() > pages, "{pages_audited:?}");

    // No personal data in the server's log either.
    assert!(!has_resident_id(&served.log_text()), "the log carries no resident IDs");
    assert!(has_resident_id("x12010119900101123X"), "the check finds one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_the_openapi_file_and_the_exposure_rule() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path()).await;
    let a = get(served.dashboard, "/", None).await.unwrap();
    assert_eq!(a.status, 200);
    assert!(a.body.contains("<script src=\"app.js\""), "{}", a.body);
    assert!(!a.body.contains("<script>"), "no inline script");
    let a = get(served.dashboard, "/api/v1/openapi.json", None).await.unwrap();
    assert_eq!(a.json()["openapi"], "3.0.3");
    let a = get(served.dashboard, "/echarts.min.js", None).await.unwrap();
    assert!(a.body.len() > 500_000, "ECharts is built in");

    // A non-loopback dashboard address without TLS is refused at start.
    let out = tokio::process::Command::new(support::LEYE)
        .args(["serve", "--listen", "127.0.0.1:0", "--dashboard-listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path().join("other"))
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("without TLS"), "{text}");
}

/// With the gRPC port's certificate configured, the dashboard speaks TLS with
/// it (and nothing in plain text).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_serves_tls_with_the_grpc_ports_certificate() {
    use std::sync::Arc;

    use rustls_pki_types::{CertificateDer, ServerName, pem::PemObject};

    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let ca = leye_auth::dev::create_ca(&certs, "test").unwrap();
    let server = leye_auth::dev::issue_server_cert(&ca, &certs, &["localhost".into(), "127.0.0.1".into()]).unwrap();
    let served = Served::spawn(
        dir.path(),
        &["--tls-cert", server.cert.to_str().unwrap(), "--tls-key", server.key.to_str().unwrap()],
    )
    .await;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&ca.cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let addr = served.dashboard;
    let a = support::eventually("the dashboard answers over TLS", std::time::Duration::from_secs(60), || {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
            let tls = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.ok()?;
            dash::get_over(tls, "/api/v1/targets?period_from=2026-01-01&period_to=2026-01-31", None).await
        }
    })
    .await;
    assert_eq!(a.status, 401, "over TLS, and still no answer without a token: {}", a.body);
    let plain = get(addr, "/api/v1/openapi.json", None).await;
    assert!(plain.is_none_or(|a| a.status != 200), "no plain-text answer on a TLS port");
    assert!(served.log_text().contains("dashboard listening") && served.log_text().contains("tls=true"));
}

/// The dashboard port keeps gRPC's connection limits: connections per peer,
/// and idle connections closed after the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_port_keeps_the_connection_limits() {
    use tokio::io::AsyncReadExt;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("leye.toml");
    std::fs::write(&config, "[security.limits]\nmax_connections_per_peer = 2\nidle_timeout_secs = 2\n").unwrap();
    let served = Served::start_with(dir.path(), &["--config", config.to_str().unwrap()]).await;
    // Two idle connections are held; a third from the same peer is closed at
    // once. (First, the server drops the connection of its readiness probe.)
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(tokio::net::TcpStream::connect(served.dashboard).await.unwrap());
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut third = tokio::net::TcpStream::connect(served.dashboard).await.unwrap();
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(1), third.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "the third connection is closed at once: {closed:?}\n{}",
        served.log_text()
    );
    // The held ones are closed once idle past the timeout.
    for mut c in held {
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), c.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "an idle connection is closed: {read:?}");
    }
    // Then the peer is served again.
    let a = get(served.dashboard, "/api/v1/openapi.json", None).await.expect("served again");
    assert_eq!(a.status, 200);
}
