//! Helpers for the process-level tests (publisher, projections): real
//! `nats-server` processes (one, or a three-node JetStream cluster) on free
//! loopback ports, `leye serve` as a process, gRPC clients that record what
//! they sent, and a JetStream reader that returns what subscribers see.
//!
//! Every process is killed when its handle drops, and every wait has a
//! deadline: a test fails, it does not hang. Never uses a NATS already running
//! on the machine (4222): each server gets its own port and store directory.
#![allow(dead_code)]

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use async_nats::jetstream::{
    self,
    consumer::{AckPolicy, DeliverPolicy, pull},
};
use futures::StreamExt;
use leye::client::{Authed, Bearer};
use leye_proto::{
    analytics::v1::targets_service_client::TargetsServiceClient,
    common::v1::CommandContext,
    person::v1::{self as pb, person_case_service_client::PersonCaseServiceClient},
};
use prost::Message;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    process::{Child, Command},
};
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use uuid::Uuid;

pub const LEYE: &str = env!("CARGO_BIN_EXE_leye");
pub const STREAM: &str = "LEYE_V1";
pub const NAME: &str = "测试人";

pub type Client = PersonCaseServiceClient<Authed>;

/// A token of the development issuer of `data_dir` (the server started on it
/// without a configured issuer uses the same one): a city-wide caseworker who
/// may also replay and read the targets.
pub fn token(data_dir: &Path) -> String {
    let (key, _) = leye::trust::dev_issuer(data_dir).expect("development issuer");
    let roles = [leye_auth::Role::Caseworker, leye_auth::Role::Auditor, leye_auth::Role::Analyst];
    let claims = leye_auth::dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        ..leye_auth::dev::DevClaims::new("staff-0042", &roles, &["120000"])
    };
    leye_auth::dev::issue_token(&key, &claims, chrono::Utc::now().timestamp()).expect("token")
}

/// A plain-text loopback channel to `addr` carrying `token`.
pub async fn authed(addr: SocketAddr, token: &str) -> Option<Authed> {
    let channel = leye::client::channel(&addr.to_string(), None).await.ok()?;
    Some(tonic::service::interceptor::InterceptedService::new(channel, Bearer::new(token).ok()?))
}

/// Polls `probe` every 100 ms until it returns `Some`, or panics naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A loopback port for a server a test starts: free now, and never handed out
/// twice in this process (tests run side by side; see the store's `free_port`).
pub fn free_port() -> u16 {
    leye_store::test_postgres::free_port().expect("a free loopback port")
}

/// The address a `leye serve` logged for `what` ("gRPC listening", "metrics
/// listening"): it is started on port 0, so the address is its own and no
/// other test's server can be behind it. Panics with its log if it exits
/// first, or has not listened within 60 s.
pub async fn logged_addr(log: &Path, what: &str, child: &mut Child) -> SocketAddr {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let found = text.lines().filter(|l| l.contains(what)).find_map(|l| {
            l.split_whitespace().find_map(|w| w.strip_prefix("addr=")).and_then(|a| a.parse::<SocketAddr>().ok())
        });
        if let Some(addr) = found {
            return addr;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("leye serve exited ({status}) before {what}; its log ({}):\n{text}", log.display());
        }
        assert!(tokio::time::Instant::now() < deadline, "no {what} within 60 s; log ({}):\n{text}", log.display());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `leye serve`'s listen flags on port 0: gRPC and metrics (read back with [`listening`]).
pub const ON_PORT_ZERO: [&str; 4] = ["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"];

/// The gRPC and metrics addresses of a `leye serve` started with [`ON_PORT_ZERO`].
pub async fn listening(log: &Path, child: &mut Child) -> (SocketAddr, SocketAddr) {
    let metrics = logged_addr(log, "metrics listening", child).await;
    (logged_addr(log, "gRPC listening", child).await, metrics)
}

async fn accepts(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
}

// === nats-server ===

/// `nats-server` from `NATS_SERVER`, the `PATH`, or `/usr/sbin` (the Debian
/// package; `scripts/test.sh` installs it when missing).
pub fn nats_server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file());
    on_path.or_else(|| Some(PathBuf::from("/usr/sbin/nats-server")).filter(|p| p.is_file())).expect(
        "nats-server not found: set NATS_SERVER, or install it (apt-get install nats-server); scripts/test.sh does",
    )
}

/// One `nats-server` with JetStream, on its own port and store directory,
/// killed on drop. Restarts reuse the port and the directory.
#[derive(Debug)]
pub struct NatsServer {
    pub name: String,
    pub port: u16,
    pub dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    starts: u32,
}

impl NatsServer {
    /// A single server.
    pub async fn start(dir: &Path) -> Self {
        let port = free_port();
        let mut s = Self::new("single", port, dir.join("nats"), vec![]);
        s.spawn();
        s.wait_accepting().await;
        s
    }

    /// A three-node JetStream cluster on loopback.
    pub async fn cluster(dir: &Path) -> Vec<Self> {
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        let routes: Vec<String> = ports.iter().map(|(_, c)| format!("nats://127.0.0.1:{c}")).collect();
        let mut nodes: Vec<Self> = ports
            .iter()
            .enumerate()
            .map(|(i, (port, cluster_port))| {
                let name = format!("n{}", i + 1);
                let extra = vec![
                    "--cluster_name".into(),
                    "leye-test".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{cluster_port}"),
                    "--routes".into(),
                    routes.join(","),
                ];
                Self::new(&name, *port, dir.join(&name), extra)
            })
            .collect();
        for n in &mut nodes {
            n.spawn();
        }
        for n in &nodes {
            n.wait_accepting().await;
        }
        nodes
    }

    fn new(name: &str, port: u16, dir: PathBuf, extra: Vec<String>) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        // JetStream's file limit is set, not derived from the disk's free
        // space: below the stream's 10 GiB default that would refuse the
        // stream ("insufficient storage resources") on a nearly full disk,
        // while the tests store a few megabytes.
        let conf = dir.join("js.conf");
        let store = dir.join("js");
        std::fs::write(&conf, format!("jetstream {{\n  store_dir: {:?}\n  max_file_store: 64GB\n}}\n", store)).unwrap();
        let mut args: Vec<String> =
            ["-c", &conf.display().to_string(), "-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-n", name]
                .iter()
                .map(|s| s.to_string())
                .collect();
        args.extend(extra);
        Self { name: name.into(), port, dir, args, child: None, starts: 0 }
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.dir.join(format!("nats-{}.log", self.starts))).unwrap();
        let child = Command::new(nats_server_bin())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
    }

    async fn wait_accepting(&self) {
        let port = self.port;
        eventually(
            &format!("nats-server {} to accept connections", self.name),
            Duration::from_secs(20),
            || async move { accepts(port).await.then_some(()) },
        )
        .await;
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }

    /// Starts again on the same port and directory.
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn();
        self.wait_accepting().await;
    }
}

/// A JetStream context for the test's own reads, retrying the connection.
pub async fn jetstream(urls: &[String]) -> jetstream::Context {
    let urls = urls.to_vec();
    let client = eventually("a test connection to NATS", Duration::from_secs(20), || {
        let urls = urls.clone();
        async move {
            async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_secs(2))
                .max_reconnects(None)
                .connect(urls)
                .await
                .ok()
        }
    })
    .await;
    jetstream::ContextBuilder::new().timeout(Duration::from_secs(5)).build(client)
}

/// Messages in the stream now; `None` while it is unreachable or absent.
pub async fn stream_messages(js: &jetstream::Context) -> Option<u64> {
    let mut stream = js.get_stream(STREAM).await.ok()?;
    stream.info().await.ok().map(|i| i.state.messages)
}

/// Waits until the stream holds exactly `n` messages.
pub async fn wait_stream_count(js: &jetstream::Context, n: u64, within: Duration) {
    eventually(&format!("{n} messages in the stream"), within, || async move {
        let have = stream_messages(js).await?;
        assert!(have <= n, "the stream holds {have} messages, more than the {n} events recorded");
        (have == n).then_some(())
    })
    .await;
}

/// A message as a subscriber sees it.
#[derive(Debug, Clone)]
pub struct Received {
    pub subject: String,
    pub headers: HashMap<String, String>,
    pub event: pb::PersonEvent,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Reads every message of the stream by sequence number from the stream's
/// leader, without a consumer (for a cluster that just lost a node, where
/// creating a consumer may wait for the lost peer).
pub async fn read_by_sequence(js: &jetstream::Context, n: usize) -> Vec<Received> {
    let stream = eventually("the stream", MINUTE, || async move { js.get_stream(STREAM).await.ok() }).await;
    let info = stream.get_info().await.expect("stream info");
    assert_eq!(info.state.messages, n as u64, "messages in the stream");
    let mut out = Vec::with_capacity(n);
    for seq in info.state.first_sequence..=info.state.last_sequence {
        let m = stream.get_raw_message(seq).await.expect("message by sequence");
        let headers = m
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.first().map(|v| v.as_str().to_string()).unwrap_or_default()))
            .collect();
        let event = pb::PersonEvent::decode(m.payload.as_ref()).expect("payload decodes");
        out.push(Received { subject: m.subject.to_string(), headers, event });
    }
    out
}

const MINUTE: Duration = Duration::from_secs(60);

/// Reads every message of the stream, in stream order, with a fresh durable
/// consumer (acknowledging each), until `n` were read.
pub async fn read_all(js: &jetstream::Context, n: usize) -> Vec<Received> {
    let durable = format!("test-{}", Uuid::new_v4().simple());
    // Retried: in a cluster that just lost a node, the meta leader may still
    // be in election. One replica in memory: the test's reader only.
    let consumer = eventually("a consumer on the stream", Duration::from_secs(60), || {
        let durable = durable.clone();
        async move {
            let stream = js.get_stream(STREAM).await.ok()?;
            stream
                .get_or_create_consumer(
                    &durable,
                    pull::Config {
                        durable_name: Some(durable.clone()),
                        deliver_policy: DeliverPolicy::All,
                        ack_policy: AckPolicy::Explicit,
                        num_replicas: 1,
                        memory_storage: true,
                        ..Default::default()
                    },
                )
                .await
                .ok()
        }
    })
    .await;
    let mut messages = consumer.messages().await.expect("messages");
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(20), messages.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} messages arrived", out.len()))
            .expect("stream of messages ended")
            .expect("message");
        let headers = headers_of(&next);
        let event =
            pb::PersonEvent::decode(next.payload.as_ref()).expect("payload decodes as leye.person.v1.PersonEvent");
        out.push(Received { subject: next.subject.to_string(), headers, event });
        next.ack().await.expect("ack");
    }
    // Nothing more than expected.
    if let Ok(Some(Ok(extra))) = tokio::time::timeout(Duration::from_millis(500), messages.next()).await {
        panic!("unexpected extra message on {}", extra.subject);
    }
    out
}

// === leye serve ===

/// Spawns `cmd` (a `leye serve`, possibly behind a wrapper such as
/// `prlimit`) with no `LEYE_*` setting of the test's environment, logging at
/// `info` into the new file `log`, killed when the handle drops.
pub fn spawn_logged(mut cmd: Command, log: &Path) -> Child {
    let file = std::fs::File::create(log).unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("LEYE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .expect("start leye serve")
}

/// Runs `cmd` (a `leye serve` expected to refuse to start) and returns its
/// stderr; panics if it succeeds, or, after killing it, if it still runs
/// after 30 s (it started instead of refusing: the test fails, not hangs).
pub fn refused_start(mut cmd: std::process::Command) -> String {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("leye started instead of refusing: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "leye must not start: {cmd:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `leye serve` as a process on a data directory, killed on drop. Its log is a
/// file in the data directory.
#[derive(Debug)]
pub struct Leye {
    pub addr: SocketAddr,
    pub metrics: SocketAddr,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Leye {
    /// Starts `leye serve` (with `--nats-url` when given) and waits until gRPC answers.
    pub async fn start(data_dir: &Path, nats_url: Option<&str>, extra: &[&str]) -> Self {
        let me = Self::spawn(data_dir, nats_url, extra).await;
        me.client().await;
        me
    }

    /// Starts `leye serve` and waits only until it listens, not until it
    /// answers (for tests that watch it start). Its ports are its own: it
    /// binds port 0 and logs the addresses.
    pub async fn spawn(data_dir: &Path, nats_url: Option<&str>, extra: &[&str]) -> Self {
        let n = std::fs::read_dir(data_dir).map(|d| d.count()).unwrap_or(0);
        let log = data_dir.join(format!("leye-{n}.log"));
        let mut cmd = Command::new(LEYE);
        cmd.arg("serve")
            .args(ON_PORT_ZERO)
            .arg("--data-dir")
            .arg(data_dir)
            // The policy finder appends events on its own; these tests count
            // events and compare positions with the log they wrote.
            .args(["--policy-finder", "false"])
            .args(extra);
        if let Some(url) = nats_url {
            cmd.args(["--nats-url", url]);
        }
        let mut child = spawn_logged(cmd, &log);
        let (addr, metrics) = listening(&log, &mut child).await;
        Self { addr, metrics, data_dir: data_dir.to_path_buf(), log, child: Some(child) }
    }

    /// The default principal's token (see [`token`]).
    pub fn token(&self) -> String {
        token(&self.data_dir)
    }

    /// A channel with the default principal's token, once gRPC answers.
    async fn authed(&self) -> Authed {
        let (addr, token) = (self.addr, self.token());
        let log = self.log.clone();
        eventually(&format!("leye serve at {addr} (log {})", log.display()), Duration::from_secs(30), || {
            let token = token.clone();
            async move { authed(addr, &token).await }
        })
        .await
    }

    pub async fn client(&self) -> Client {
        PersonCaseServiceClient::new(self.authed().await)
    }

    /// A client of `leye.analytics.v1.TargetsService`, once gRPC answers.
    pub async fn targets_client(&self) -> TargetsServiceClient<Authed> {
        TargetsServiceClient::new(self.authed().await)
    }

    /// SIGKILL: no shutdown at all.
    pub async fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().await.expect("kill leye");
        }
    }

    /// Waits at most `within` for the process to exit on its own; its status.
    pub async fn exited(&mut self, within: Duration) -> std::process::ExitStatus {
        let c = self.child.as_mut().expect("running");
        let exit = tokio::time::timeout(within, c.wait()).await;
        let exit = exit.unwrap_or_else(|_| panic!("leye did not exit within {within:?}\n{}", self.log_text()));
        self.child = None;
        exit.unwrap()
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn terminate(&mut self) {
        let Some(mut c) = self.child.take() else { return };
        let pid = c.id().expect("running");
        let ok = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await.unwrap();
        assert!(ok.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), c.wait()).await.expect("leye exits").unwrap();
        assert!(exit.success(), "leye serve exits cleanly on SIGTERM: {exit:?}\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Prints the publisher's log lines (shown with `--nocapture` or on failure).
    pub fn print_publisher_log(&self) {
        for line in self.log_text().lines().filter(|l| l.contains("leye::publisher")) {
            eprintln!("leye: {line}");
        }
    }

    /// The `/metrics` page.
    pub async fn metrics_text(&self) -> Option<String> {
        let mut s = tokio::net::TcpStream::connect(self.metrics).await.ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: leye\r\n\r\n").await.ok()?;
        let mut body = String::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut body)).await.ok()?.ok()?;
        body.starts_with("HTTP/1.0 200").then_some(body)
    }

    /// One metric's value.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let text = self.metrics_text().await?;
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// The health status of `leye.Publisher`.
    pub async fn publisher_health(&self) -> Option<ServingStatus> {
        let channel = Channel::from_shared(format!("http://{}", self.addr)).ok()?.connect().await.ok()?;
        let mut c = HealthClient::new(channel);
        let r = c.check(HealthCheckRequest { service: "leye.Publisher".into() }).await.ok()?;
        ServingStatus::try_from(r.into_inner().status).ok()
    }

    /// Waits until `leye.Publisher` reports `want`.
    pub async fn wait_health(&self, want: ServingStatus, within: Duration) {
        eventually(&format!("leye.Publisher {want:?}"), within, || async move {
            (self.publisher_health().await == Some(want)).then_some(())
        })
        .await;
    }
}

// === commands and what they should produce ===

/// A valid resident ID (ISO 7064 MOD 11-2 check character) for person `n`.
pub fn resident_id(n: u32) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let birth = chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap() + chrono::Duration::days(i64::from(n % 9000));
    let first17 = format!("120111{}{:03}", birth.format("%Y%m%d"), n / 9000 % 1000);
    let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

pub const DISTRICTS: [&str; 4] = ["120101", "120111", "120116", "120119"];

fn yesterday() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::days(1)).date_naive().to_string()
}

/// One event a command produced, and what a subscriber must receive for it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub event_id: String,
    pub event_type: &'static str,
    pub case_id: String,
    pub revision: u64,
    pub district: &'static str,
    pub correlation_id: String,
    pub effective_date: String,
    pub event: pb::PersonEvent,
}

fn context(correlation_id: &str) -> Option<CommandContext> {
    Some(CommandContext {
        command_id: Uuid::new_v4().to_string(),
        correlation_id: correlation_id.into(),
        actor: String::new(), // the principal of the token acts
        office: "120111001".into(),
        ..Default::default()
    })
}

/// Runs one case's life: register, contact, recommend a job, place. Returns
/// the four events it recorded, with what each must look like on NATS.
pub async fn run_case(client: &mut Client, person: u32) -> Vec<Sent> {
    use pb::person_event::Event as E;
    let district = DISTRICTS[person as usize % DISTRICTS.len()];
    let correlation = Uuid::new_v4().to_string();
    let date = yesterday();
    let registration = pb::Registration {
        resident_id: resident_id(person),
        name: NAME.into(),
        hukou: Some(pb::Hukou { district_code: "130102".into(), nature: pb::HukouNature::Rural as i32 }),
        residence: Some(pb::Residence {
            district_code: district.into(),
            street_code: format!("{district}001"),
            community_code: format!("{district}001002"),
        }),
        education: pb::Education::SeniorSecondary as i32,
        graduation: None,
        household: None,
        groups: vec![pb::PersonGroup::MigrantWorker as i32],
        personal_data: 0,
    };
    let r = accepted(|| {
        let mut c = client.clone();
        let req = pb::RegisterUnemploymentRequest {
            context: context(&correlation),
            effective_date: date.clone(),
            registration: Some(registration.clone()),
        };
        async move { c.register_unemployment(req).await }
    })
    .await;
    let case_id = r.case_id.clone();
    let mut sent = vec![Sent {
        event_id: r.event_ids[0].clone(),
        event_type: "person.registered",
        case_id: case_id.clone(),
        revision: 0,
        district,
        correlation_id: correlation.clone(),
        effective_date: date.clone(),
        // Published without resident ID and name (nats_personal_data is off by default).
        event: pb::PersonEvent {
            event: Some(E::Registered(pb::Registration {
                resident_id: String::new(),
                name: String::new(),
                personal_data: pb::PersonalDataState::Withheld as i32,
                ..registration
            })),
        },
    }];

    let contact = pb::Contact {
        channel: pb::ContactChannel::Phone as i32,
        outcome: pb::ContactOutcome::StillSeeking as i32,
        note: format!("call {person}"),
    };
    let r = accepted(|| {
        let mut c = client.clone();
        let req = pb::RecordContactRequest {
            context: context(&correlation),
            case_id: case_id.clone(),
            effective_date: date.clone(),
            contact: Some(contact.clone()),
        };
        async move { c.record_contact(req).await }
    })
    .await;
    sent.push(Sent {
        event_id: r.event_ids[0].clone(),
        event_type: "person.contacted",
        revision: 1,
        event: pb::PersonEvent { event: Some(E::Contacted(contact)) },
        ..sent[0].clone()
    });

    let job = pb::JobRecommendation {
        vacancy_id: format!("V-{person}"),
        enterprise_credit_code: String::new(),
        two_way: true,
    };
    let r = accepted(|| {
        let mut c = client.clone();
        let req = pb::RecommendJobRequest {
            context: context(&correlation),
            case_id: case_id.clone(),
            effective_date: date.clone(),
            recommendation: Some(job.clone()),
        };
        async move { c.recommend_job(req).await }
    })
    .await;
    sent.push(Sent {
        event_id: r.event_ids[0].clone(),
        event_type: "person.job_recommended",
        revision: 2,
        event: pb::PersonEvent { event: Some(E::JobRecommended(job)) },
        ..sent[0].clone()
    });

    let placement = pb::Placement {
        kind: pb::PlacementKind::Flexible as i32,
        employer_credit_code: String::new(),
        contract_months: Some(12),
    };
    let r = accepted(|| {
        let mut c = client.clone();
        let req = pb::RecordPlacementRequest {
            context: context(&correlation),
            case_id: case_id.clone(),
            effective_date: date.clone(),
            placement: Some(placement.clone()),
        };
        async move { c.record_placement(req).await }
    })
    .await;
    sent.push(Sent {
        event_id: r.event_ids[0].clone(),
        event_type: "person.placed",
        revision: 3,
        event: pb::PersonEvent { event: Some(E::Placed(placement)) },
        ..sent[0].clone()
    });
    sent
}

/// A command must succeed; transport hiccups are not what these tests are about,
/// but a refusal fails the test at once.
async fn accepted<F, Fut, R>(mut call: F) -> leye_proto::common::v1::CommandResult
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<R>, tonic::Status>>,
    R: leye::grpc::reply::CommandReply,
{
    let r = tokio::time::timeout(Duration::from_secs(30), call()).await.expect("command answered in time");
    r.unwrap_or_else(|s| panic!("command refused: {s:?}"))
        .into_inner()
        .into_result()
        .expect("a command answers with its result")
}

/// `clients` concurrent clients, each running `cases` cases, persons numbered
/// from `first_person`. Returns every event recorded.
pub async fn run_clients(
    leye_addr: SocketAddr,
    token: String,
    clients: u32,
    cases: u32,
    first_person: u32,
) -> Vec<Sent> {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = PersonCaseServiceClient::new(authed(leye_addr, &token).await.expect("connect"));
            let mut sent = Vec::new();
            for k in 0..cases {
                sent.extend(run_case(&mut client, first_person + c * cases + k).await);
            }
            sent
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    all
}

/// Every recorded event arrived exactly once; per case, in revision order.
pub fn assert_each_once_in_case_order(received: &[Received], sent: &[Sent]) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for r in received {
        *seen.entry(r.header("Leye-Event-Id")).or_default() += 1;
    }
    for s in sent {
        assert_eq!(
            seen.get(s.event_id.as_str()),
            Some(&1),
            "event {} ({}) arrived {:?} times",
            s.event_id,
            s.event_type,
            seen.get(s.event_id.as_str())
        );
    }
    assert_eq!(received.len(), sent.len(), "no message other than the recorded events");
    let mut next_revision: HashMap<&str, u64> = HashMap::new();
    for r in received {
        let case = r.header("Leye-Case-Id");
        let rev: u64 = r.header("Leye-Revision").parse().expect("revision header");
        let want = next_revision.entry(case).or_default();
        assert_eq!(rev, *want, "case {case}: revision {rev} arrived where {want} was due");
        *want += 1;
    }
}

/// A JetStream message's headers, name to first value.
pub fn headers_of(message: &async_nats::jetstream::Message) -> HashMap<String, String> {
    message
        .headers
        .as_ref()
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.to_string(), v.first().map(|v| v.as_str().to_string()).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// Copies a directory tree as `cp -a` does: directories, files, and symbolic
/// links as links (a read model's `current.sqlite` names its generation
/// relatively). The process that wrote it is stopped, or the copy is taken
/// as a crash would leave it.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
