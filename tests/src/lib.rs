//! Helpers for leye's end-to-end tests: a real server on a free loopback port
//! over a real SQLite file, serving TLS with a development CA; gRPC clients
//! over TLS carrying bearer tokens of the development issuer (one principal
//! per client); and valid test data.
//!
//! Tracing stays silent unless `TEST_LOG` is set.

pub mod raw;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use chrono::{Duration, NaiveDate, Utc};
use leye::{
    client::{Authed, Bearer},
    config::{STORE_FILE, ServeConfig},
    trust::TlsFiles,
};
use leye_auth::{Role, dev};
use leye_proto::{
    analytics::v1::targets_service_client::TargetsServiceClient,
    audit::v1::audit_service_client::AuditServiceClient,
    common::v1::CommandContext,
    enterprise::v1::{self as epb, enterprise_case_service_client::EnterpriseCaseServiceClient},
    person::v1::{self as pb, person_case_service_client::PersonCaseServiceClient},
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;
use uuid::Uuid;

pub type Client = PersonCaseServiceClient<Authed>;
pub type EnterpriseClient = EnterpriseCaseServiceClient<Authed>;
pub type TargetsClient = TargetsServiceClient<Authed>;
pub type AuditClient = AuditServiceClient<Authed>;

/// The whole city, as a jurisdiction.
pub const CITY: &[&str] = &["120000"];
/// The principal of [`TestServer::client`]: a city-wide caseworker who may
/// also replay (auditor) and read the targets (analyst), but not review
/// subsidies (supervisor).
pub const DEFAULT_SUBJECT: &str = "staff-0042";
pub const DEFAULT_ROLES: &[&str] = &["caseworker", "auditor", "analyst"];

/// A running `leye` service, in this process, on its own data directory.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: Arc<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The development CA and server certificate in `<data_dir>/tls/` (made once
/// per data directory, so restarts keep them); the development token issuer
/// in `<data_dir>/dev-auth/`.
pub fn credentials(data_dir: &std::path::Path) -> PathBuf {
    let dir = data_dir.join("tls");
    if !dir.join("server.pem").exists() {
        std::fs::create_dir_all(&dir).expect("tls dir");
        // Writes test-ca.pem, server.pem and server.key.pem.
        let ca = dev::create_ca(&dir, "test").expect("CA");
        dev::issue_server_cert(&ca, &dir, &["localhost".into(), "127.0.0.1".into()]).expect("server cert");
    }
    leye::trust::dev_issuer(data_dir).expect("development issuer");
    dir
}

/// Starts a server on a fresh data directory.
pub async fn spawn() -> TestServer {
    spawn_on(Arc::new(tempfile::tempdir().expect("temp dir"))).await
}

/// Starts a server on an existing data directory (a restart).
///
/// The policy finder is off: it appends `person.eligibility_found` events to
/// cases on its own, which tests counting revisions and events must not see.
/// [`spawn_with_policy_finder`] turns it on.
pub async fn spawn_on(data_dir: Arc<tempfile::TempDir>) -> TestServer {
    spawn_configured(data_dir, false).await
}

/// Starts a server on a fresh data directory with the policy finder on, as
/// `leye serve` runs by default.
pub async fn spawn_with_policy_finder() -> TestServer {
    spawn_configured(Arc::new(tempfile::tempdir().expect("temp dir")), true).await
}

async fn spawn_configured(data_dir: Arc<tempfile::TempDir>, policy_finder: bool) -> TestServer {
    spawn_with(data_dir, |c| c.finder.enabled = policy_finder).await
}

/// Starts a server on `data_dir` with TLS (the test CA) and the development
/// issuer, after `configure` adjusts the configuration (limits, client
/// certificates, …). The policy finder is off unless `configure` turns it on.
pub async fn spawn_with(data_dir: Arc<tempfile::TempDir>, configure: impl FnOnce(&mut ServeConfig)) -> TestServer {
    init_log();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let mut config = ServeConfig { listen: addr, ..ServeConfig::in_data_dir(data_dir.path()) };
    config.finder.enabled = false;
    let tls = credentials(data_dir.path());
    config.trust.tls = Some(TlsFiles {
        cert: tls.join("server.pem"),
        key: tls.join("server.key.pem"),
        client_ca: Some(tls.join("test-ca.pem")),
    });
    configure(&mut config);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(leye::server::run(
        config,
        listener,
        async {
            let _ = stopped.await;
        },
        Arc::new(Utc::now),
    ));
    TestServer { addr, data_dir, stop: Some(stop), task: Some(task) }
}

impl TestServer {
    /// A token of the development issuer for `subject` with `roles` in `jurisdiction`.
    pub fn token(&self, subject: &str, roles: &[&str], jurisdiction: &[&str]) -> String {
        let roles: Vec<Role> = roles.iter().map(|r| r.parse().expect("a role")).collect();
        let claims = dev::DevClaims {
            key_id: Some(leye::trust::DEV_KEY_ID.into()),
            ..dev::DevClaims::new(subject, &roles, jurisdiction)
        };
        let (key, _) = leye::trust::dev_issuer(self.data_dir.path()).expect("development issuer");
        dev::issue_token(&key, &claims, Utc::now().timestamp()).expect("token")
    }

    /// A TLS channel to the server, trusting the test CA (retries while the server starts).
    pub async fn channel(&self) -> Channel {
        let ca = std::fs::read(self.data_dir.path().join("tls/test-ca.pem")).expect("test CA");
        let addr = format!("localhost:{}", self.addr.port());
        for _ in 0..100 {
            if let Ok(c) = leye::client::channel(&addr, Some((&ca, "localhost"))).await {
                return c;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("server at {addr} did not come up");
    }

    /// A channel carrying a token for `subject` with `roles` in `jurisdiction`.
    pub async fn authed(&self, subject: &str, roles: &[&str], jurisdiction: &[&str]) -> Authed {
        let bearer = Bearer::new(&self.token(subject, roles, jurisdiction)).expect("bearer");
        tonic::service::interceptor::InterceptedService::new(self.channel().await, bearer)
    }

    /// A person-case client as the default principal ([`DEFAULT_SUBJECT`], city-wide).
    pub async fn client(&self) -> Client {
        self.client_as(DEFAULT_SUBJECT, DEFAULT_ROLES, CITY).await
    }

    /// A person-case client as `subject` with `roles` in `jurisdiction`.
    pub async fn client_as(&self, subject: &str, roles: &[&str], jurisdiction: &[&str]) -> Client {
        PersonCaseServiceClient::new(self.authed(subject, roles, jurisdiction).await)
    }

    /// An enterprise-case client as the default principal.
    pub async fn enterprise_client(&self) -> EnterpriseClient {
        self.enterprise_client_as(DEFAULT_SUBJECT, DEFAULT_ROLES, CITY).await
    }

    pub async fn enterprise_client_as(&self, subject: &str, roles: &[&str], jurisdiction: &[&str]) -> EnterpriseClient {
        EnterpriseCaseServiceClient::new(self.authed(subject, roles, jurisdiction).await)
    }

    /// A targets client as the default principal (an analyst among its roles).
    pub async fn targets_client(&self) -> TargetsClient {
        self.targets_client_as(DEFAULT_SUBJECT, DEFAULT_ROLES, CITY).await
    }

    pub async fn targets_client_as(&self, subject: &str, roles: &[&str], jurisdiction: &[&str]) -> TargetsClient {
        TargetsServiceClient::new(self.authed(subject, roles, jurisdiction).await)
    }

    pub async fn audit_client_as(&self, subject: &str, roles: &[&str], jurisdiction: &[&str]) -> AuditClient {
        AuditServiceClient::new(self.authed(subject, roles, jurisdiction).await)
    }

    pub fn store_path(&self) -> PathBuf {
        self.data_dir.path().join(STORE_FILE)
    }

    /// Number of events in the store, read straight from the SQLite file.
    pub fn event_count(&self) -> i64 {
        let conn = rusqlite::Connection::open(self.store_path()).expect("open store file");
        conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).expect("count events")
    }

    /// Every event's type in log order, read straight from the SQLite file.
    pub fn event_types(&self) -> Vec<String> {
        let conn = rusqlite::Connection::open(self.store_path()).expect("open store file");
        let mut stmt = conn.prepare("SELECT event_type FROM events ORDER BY position").expect("prepare");
        stmt.query_map([], |r| r.get(0)).expect("query").map(|r| r.expect("row")).collect()
    }

    /// Graceful shutdown; returns the data directory for a restart.
    pub async fn stop(mut self) -> Arc<tempfile::TempDir> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran cleanly");
        }
        self.data_dir.clone()
    }
}

fn init_log() {
    if std::env::var_os("TEST_LOG").is_some() {
        let filter = tracing_subscriber::EnvFilter::try_from_env("TEST_LOG").unwrap_or_default();
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
}

/// Today in Beijing time.
pub fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

pub fn days_ago(n: i64) -> String {
    date(today() - Duration::days(n))
}

pub fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A valid resident ID: Xiqing address code, the given birth date (YYYYMMDD)
/// and sequence (odd: male, even: female), with its check character.
pub fn resident_id(birth: &str, seq: u32) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let first17 = format!("120111{birth}{seq:03}");
    let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// A valid unified social credit code (GB 32100-2015) built from a 17-character body.
pub fn credit_code(body: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: u32 =
        body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).expect("body in alphabet") as u32 * w).sum();
    format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)
}

/// A context with a fresh command id.
pub fn ctx() -> Option<CommandContext> {
    ctx_with(Uuid::new_v4())
}

pub fn ctx_with(command_id: Uuid) -> Option<CommandContext> {
    // No actor: who acts is the principal of the client's token.
    Some(CommandContext {
        command_id: command_id.to_string(),
        office: "120111001-service-point".into(),
        ..Default::default()
    })
}

/// A complete, valid registration.
pub fn registration(resident_id: &str) -> pb::Registration {
    pb::Registration {
        resident_id: resident_id.into(),
        name: "王小明".into(),
        hukou: Some(pb::Hukou { district_code: "120111".into(), nature: pb::HukouNature::Urban as i32 }),
        residence: Some(pb::Residence {
            district_code: "120111".into(),
            street_code: "120111001".into(),
            community_code: "120111001002".into(),
        }),
        education: pb::Education::Bachelor as i32,
        graduation: Some(pb::Graduation { year: 2024, school: "天津大学".into(), tianjin_school: true }),
        household: None,
        groups: vec![pb::PersonGroup::Graduate as i32],
        personal_data: 0,
    }
}

pub fn register_request(resident_id: &str, effective_date: String) -> pb::RegisterUnemploymentRequest {
    pb::RegisterUnemploymentRequest { context: ctx(), effective_date, registration: Some(registration(resident_id)) }
}

/// The `ErrorInfo.reason` of a status, if any.
/// Registers `resident_id` as unemployed on `effective_date` (the default
/// registration in Xiqing) and answers the new case's id.
pub async fn register_person(c: &mut Client, resident_id: &str, effective_date: String) -> String {
    c.register_unemployment(register_request(resident_id, effective_date))
        .await
        .expect("register the person")
        .into_inner()
        .result
        .expect("a command result")
        .case_id
}

pub fn reason(status: &tonic::Status) -> Option<String> {
    use tonic_types::StatusExt;
    status.get_error_details().error_info().map(|i| i.reason.clone())
}

/// The fields named by a status's `BadRequest`.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

// === subsidy requests: one proposal, every RPC that takes its fields ===
//
// Each RPC has its own request message; the tests build a proposal once, as
// `leye.person.v1.ProposeSubsidyRequest`, and send it where they need it.

/// The dry run (`EvaluateSubsidy`) of a person proposal: the same fields, no context.
pub fn dry_run(p: pb::ProposeSubsidyRequest) -> pb::EvaluateSubsidyRequest {
    pb::EvaluateSubsidyRequest {
        case_id: p.case_id,
        effective_date: p.effective_date,
        proposal_id: p.proposal_id,
        rule_id: p.rule_id,
        payee: p.payee,
        inputs: p.inputs,
    }
}

/// The same proposal, made on an enterprise case.
pub fn enterprise_proposal(p: pb::ProposeSubsidyRequest) -> epb::ProposeSubsidyRequest {
    epb::ProposeSubsidyRequest {
        context: p.context,
        case_id: p.case_id,
        effective_date: p.effective_date,
        proposal_id: p.proposal_id,
        rule_id: p.rule_id,
        payee: p.payee,
        inputs: p.inputs,
    }
}

/// The dry run of a proposal on an enterprise case.
pub fn enterprise_dry_run(p: pb::ProposeSubsidyRequest) -> epb::EvaluateSubsidyRequest {
    let p = dry_run(p);
    epb::EvaluateSubsidyRequest {
        case_id: p.case_id,
        effective_date: p.effective_date,
        proposal_id: p.proposal_id,
        rule_id: p.rule_id,
        payee: p.payee,
        inputs: p.inputs,
    }
}
