//! Helpers of the dashboard tests: a generated population served by
//! `leye serve` with the dashboard on, tokens of the development issuer, and
//! a plain HTTP/1.1 client over a real socket.
#![allow(dead_code)]

use std::{net::SocketAddr, path::Path, time::Duration};

use leye_auth::Role;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    process::{Child, Command},
};

use crate::support::{LEYE, ON_PORT_ZERO, eventually, listening, logged_addr, spawn_logged};

/// Heping (和平区) and Xiqing (西青区).
pub const HEPING: &str = "120101";
pub const XIQING: &str = "120111";

/// `leye generate --people N` into `data_dir` (the read model built).
pub async fn generate(data_dir: &Path, people: u32) {
    let out = Command::new(LEYE)
        .args(["generate", "--people", &people.to_string(), "--data-dir"])
        .arg(data_dir)
        .env_remove("LEYE_CONFIG")
        .env_remove("LEYE_DATA_DIR")
        .output()
        .await
        .expect("run leye generate");
    assert!(out.status.success(), "leye generate failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A token of the development issuer of `data_dir`.
pub fn token(data_dir: &Path, subject: &str, roles: &[Role], jurisdiction: &[&str]) -> String {
    let (key, _) = leye::trust::dev_issuer(data_dir).expect("development issuer");
    let claims = leye_auth::dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        ..leye_auth::dev::DevClaims::new(subject, roles, jurisdiction)
    };
    leye_auth::dev::issue_token(&key, &claims, chrono::Utc::now().timestamp()).expect("token")
}

/// `leye serve` with gRPC, metrics and the dashboard on free loopback ports,
/// the policy finder on; killed on drop.
pub struct Served {
    pub grpc: SocketAddr,
    pub dashboard: SocketAddr,
    pub metrics: SocketAddr,
    pub log: std::path::PathBuf,
    _child: Child,
}

impl Served {
    pub async fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[]).await
    }

    /// With more `leye serve` arguments; waits until the dashboard answers.
    pub async fn start_with(data_dir: &Path, extra: &[&str]) -> Self {
        let me = Self::spawn(data_dir, extra).await;
        let dashboard = me.dashboard;
        eventually("the dashboard answers", Duration::from_secs(60), || async move {
            get(dashboard, "/api/v1/openapi.json", None).await.filter(|r| r.status == 200)
        })
        .await;
        me
    }

    /// Starts `leye serve` and waits only until it listens (on port 0: the
    /// addresses are its own, read from its log).
    pub async fn spawn(data_dir: &Path, extra: &[&str]) -> Self {
        let log = data_dir.join("serve.log");
        let mut cmd = Command::new(LEYE);
        cmd.arg("serve")
            .args(ON_PORT_ZERO)
            .args(["--dashboard-listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra);
        let mut child = spawn_logged(cmd, &log);
        let dashboard = logged_addr(&log, "dashboard listening", &mut child).await;
        let (grpc, metrics) = listening(&log, &mut child).await;
        Self { grpc, dashboard, metrics, log, _child: child }
    }

    /// Waits until the projector and the policy finder have caught up with the
    /// log and the log stands still, so both wires read one state.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        let mut last = None;
        loop {
            if let Some(text) = get(self.metrics, "/metrics", None).await.map(|a| a.body) {
                let value = |name: &str| -> Option<f64> {
                    text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
                };
                let head = value("leye_store_head_position ");
                let lag = value("leye_follower_lag_events{follower=\"projector\"} ")
                    .zip(value("leye_follower_lag_events{follower=\"policy_finder\"} "))
                    .map(|(a, b)| a + b);
                if lag == Some(0.0) && head.is_some() && head == last {
                    return;
                }
                last = head;
            }
            assert!(tokio::time::Instant::now() < deadline, "the read model did not settle\n{}", self.log_text());
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// `GET path` over a fresh connection, with a bearer token when given.
pub async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Option<Answer> {
    get_over(tokio::net::TcpStream::connect(addr).await.ok()?, path, token).await
}

/// `GET path` over `s` (plain or TLS), closing it after the answer.
pub async fn get_over<S>(s: S, path: &str, token: Option<&str>) -> Option<Answer>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    request_over(s, "GET", path, token).await
}

/// `method path` (no body) over `s`, closing it after the answer.
pub async fn request_over<S>(mut s: S, method: &str, path: &str, token: Option<&str>) -> Option<Answer>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: leye\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    // Until the server closes (a TLS peer may close without close_notify).
    loop {
        match tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await.ok()? {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8(raw).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    assert!(
        !headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")),
        "this client reads whole bodies only"
    );
    Some(Answer { status, headers, body: body.to_string() })
}
