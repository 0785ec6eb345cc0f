//! Trust settings of `leye serve`: TLS, who may call (bearer tokens, client
//! certificates), reflection, the audit trail and the resource limits; and the
//! start-up rule that keeps an exposed server from running without them.
//!
//! # Secure by default
//! - On a **loopback** address leye may run without TLS (local development,
//!   the README's first command), and when no token issuer is configured it
//!   creates a **development issuer** in `<data_dir>/dev-auth/` (an Ed25519
//!   key and its JWKS) so that `leye dev token` can sign tokens for it.
//!   Requests still need a token: there is no anonymous access.
//! - On any **other** address, leye refuses to start without TLS (a server
//!   certificate and key) and a configured way to authenticate (a JWKS issuer,
//!   or client certificates mapped to principals), unless `--insecure` is
//!   given; then every log line of the service carries `insecure=true`.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use leye_auth::{ClientEntry, JwtConfig};
use serde::Deserialize;

use crate::grpc::guard::ReflectionAccess;

/// The development issuer's directory inside the data directory.
pub const DEV_AUTH_DIR: &str = "dev-auth";
/// The development issuer's key id (and file stem).
pub const DEV_KEY_ID: &str = "leye-dev";
/// The audit trail's file inside the data directory.
pub const AUDIT_FILE: &str = "audit.sqlite";
/// The audit chain key's file inside the data directory (keep a copy apart).
pub const AUDIT_KEY_FILE: &str = "audit.key";
/// At least 6 months (Cybersecurity Law art. 21), and the default.
pub const MIN_AUDIT_RETENTION_DAYS: u32 = 183;

/// TLS files of the gRPC port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Clients presenting a certificate must chain to this CA (mutual TLS);
    /// clients without one may still authenticate with a bearer token.
    pub client_ca: Option<PathBuf>,
}

/// Resource limits of the gRPC port. Defaults in [`Limits::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Open connections at most (further ones are closed at once). Lowered
    /// at start to fit the process's descriptor limit.
    pub max_connections: usize,
    /// Open connections one peer address may hold (further ones are closed at once).
    pub max_connections_per_peer: usize,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout_secs: u64,
    /// HTTP/2 streams one connection may have open.
    pub max_concurrent_streams: u32,
    /// Requests one connection may have in flight; beyond it, shed.
    pub max_requests_per_connection: usize,
    /// Requests in flight over all connections; beyond it, `RESOURCE_EXHAUSTED`.
    pub max_in_flight: usize,
    /// A request taking longer is cancelled (`CANCELLED`/`DEADLINE_EXCEEDED`).
    pub request_timeout_secs: u64,
    /// Longest an analytics query waits for the read model to reach its
    /// `min_position` (read your own writes), in ms; capped at the request
    /// timeout less 100 ms ([`Self::query_wait_max`]).
    pub query_wait_max_ms: u64,
    /// HTTP/2 ping interval; a peer not answering within the timeout is dropped.
    pub keepalive_interval_secs: u64,
    pub keepalive_timeout_secs: u64,
    /// A TLS handshake taking longer is abandoned.
    pub tls_handshake_timeout_secs: u64,
    /// Largest request message accepted, in bytes, as received.
    pub max_request_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_peer: 32,
            idle_timeout_secs: 120,
            // RFC 9113 §5.1.2 recommends at least 100: a client opening a
            // burst of calls before it has read the server's SETTINGS gets
            // REFUSED_STREAM beyond a smaller limit.
            max_concurrent_streams: 100,
            max_requests_per_connection: 100,
            max_in_flight: 512,
            request_timeout_secs: 30,
            query_wait_max_ms: 5000,
            keepalive_interval_secs: 30,
            keepalive_timeout_secs: 10,
            tls_handshake_timeout_secs: 10,
            max_request_bytes: 64 * 1024,
        }
    }
}

impl Limits {
    fn validate(&self) -> anyhow::Result<()> {
        let positive = [
            ("limits.max_connections", self.max_connections as u64),
            ("limits.max_connections_per_peer", self.max_connections_per_peer as u64),
            ("limits.idle_timeout_secs", self.idle_timeout_secs),
            ("limits.max_concurrent_streams", u64::from(self.max_concurrent_streams)),
            ("limits.max_requests_per_connection", self.max_requests_per_connection as u64),
            ("limits.max_in_flight", self.max_in_flight as u64),
            ("limits.request_timeout_secs", self.request_timeout_secs),
            ("limits.query_wait_max_ms", self.query_wait_max_ms),
            ("limits.keepalive_interval_secs", self.keepalive_interval_secs),
            ("limits.keepalive_timeout_secs", self.keepalive_timeout_secs),
            ("limits.tls_handshake_timeout_secs", self.tls_handshake_timeout_secs),
        ];
        for (key, value) in positive {
            anyhow::ensure!(value > 0, "{key}: must be at least 1");
        }
        anyhow::ensure!(
            (1024..=4 * 1024 * 1024).contains(&self.max_request_bytes),
            "limits.max_request_bytes: must be 1024 to 4194304"
        );
        Ok(())
    }

    pub fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// The bound on a query's wait for `min_position`: `query_wait_max_ms`,
    /// but never so long that the request timeout cancels the query first
    /// (its answer names the position reached).
    pub fn query_wait_max(&self) -> Duration {
        let before_timeout = Self::secs(self.request_timeout_secs).saturating_sub(Duration::from_millis(100));
        Duration::from_millis(self.query_wait_max_ms).min(before_timeout)
    }
}

/// The trust settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustConfig {
    pub tls: Option<TlsFiles>,
    /// The token issuer; `None`: the development issuer (loopback or `--insecure` only).
    pub jwt: Option<JwtSettings>,
    /// Client certificates mapped to principals (`[[clients]]`).
    pub clients: Vec<ClientEntry>,
    pub insecure: bool,
    pub reflection: ReflectionAccess,
    pub audit_retention_days: u32,
    pub limits: Limits,
}

/// A configured token issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
    pub jwks_file: PathBuf,
    pub max_clock_skew_secs: u64,
}

impl Default for TrustConfig {
    fn default() -> Self {
        Self {
            tls: None,
            jwt: None,
            clients: Vec::new(),
            insecure: false,
            reflection: ReflectionAccess::Authenticated,
            audit_retention_days: MIN_AUDIT_RETENTION_DAYS,
            limits: Limits::default(),
        }
    }
}

/// The trust part of one configuration layer (flags, environment, file).
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct TrustSettings {
    /// Server certificate (PEM) for TLS on the gRPC port.
    #[arg(long, hide_env_values = true, env = "LEYE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long, hide_env_values = true, env = "LEYE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// CA (PEM) that client certificates must chain to (mutual TLS).
    #[arg(long, hide_env_values = true, env = "LEYE_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Issuer (`iss`) of accepted bearer tokens.
    #[arg(long, hide_env_values = true, env = "LEYE_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Audience (`aud`) accepted tokens must name.
    #[arg(long, hide_env_values = true, env = "LEYE_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// JWKS file with the issuer's public keys (EdDSA, ES256, RS256).
    #[arg(long, hide_env_values = true, env = "LEYE_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,
    /// Clock skew tolerated on `exp`/`nbf`, seconds (≤ 300).
    #[arg(long, hide_env_values = true, env = "LEYE_JWT_MAX_CLOCK_SKEW_SECS")]
    pub jwt_max_clock_skew_secs: Option<u64>,
    /// Allow a non-loopback address without TLS and configured authentication.
    #[arg(long, hide_env_values = true, env = "LEYE_INSECURE")]
    pub insecure: Option<bool>,
    /// Reflection: public, authenticated (default) or off.
    #[arg(long, hide_env_values = true, env = "LEYE_REFLECTION", value_parser = parse_reflection)]
    pub reflection: Option<ReflectionAccess>,
    /// Days the audit trail is kept (at least 183).
    #[arg(long, hide_env_values = true, env = "LEYE_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<u32>,
    /// Client certificates mapped to principals: config file only, `[[clients]]`.
    #[arg(skip)]
    #[serde(default)]
    pub clients: Option<Vec<ClientEntry>>,
    /// Resource limits: config file only, a `[limits]` table.
    #[arg(skip)]
    #[serde(default)]
    pub limits: Option<Limits>,
}

fn parse_reflection(raw: &str) -> Result<ReflectionAccess, String> {
    match raw {
        "public" => Ok(ReflectionAccess::Public),
        "authenticated" => Ok(ReflectionAccess::Authenticated),
        "off" => Ok(ReflectionAccess::Off),
        _ => Err("must be public, authenticated or off".into()),
    }
}

impl TrustSettings {
    /// `self` over `lower`, then the defaults.
    pub fn layered_over(self, lower: TrustSettings) -> anyhow::Result<TrustConfig> {
        let tls = match (self.tls_cert.or(lower.tls_cert), self.tls_key.or(lower.tls_key)) {
            (Some(cert), Some(key)) => {
                Some(TlsFiles { cert, key, client_ca: self.tls_client_ca.or(lower.tls_client_ca) })
            }
            (None, None) => {
                anyhow::ensure!(
                    self.tls_client_ca.is_none() && lower.tls_client_ca.is_none(),
                    "tls_client_ca: needs tls_cert and tls_key"
                );
                None
            }
            (Some(_), None) => anyhow::bail!("tls_key: required with tls_cert"),
            (None, Some(_)) => anyhow::bail!("tls_cert: required with tls_key"),
        };
        let jwt = match (
            self.jwt_issuer.or(lower.jwt_issuer),
            self.jwt_audience.or(lower.jwt_audience),
            self.jwks_file.or(lower.jwks_file),
        ) {
            (Some(issuer), Some(audience), Some(jwks_file)) => Some(JwtSettings {
                issuer,
                audience,
                jwks_file,
                max_clock_skew_secs: self
                    .jwt_max_clock_skew_secs
                    .or(lower.jwt_max_clock_skew_secs)
                    .unwrap_or(JwtConfig::DEFAULT_MAX_CLOCK_SKEW_SECS),
            }),
            (None, None, None) => None,
            _ => anyhow::bail!("jwt_issuer, jwt_audience, jwks_file: give all three or none"),
        };
        let audit_retention_days =
            self.audit_retention_days.or(lower.audit_retention_days).unwrap_or(MIN_AUDIT_RETENTION_DAYS);
        anyhow::ensure!(
            audit_retention_days >= MIN_AUDIT_RETENTION_DAYS,
            "audit_retention_days: must be at least {MIN_AUDIT_RETENTION_DAYS} (6 months, Cybersecurity Law art. 21)"
        );
        let limits = self.limits.or(lower.limits).unwrap_or_default();
        limits.validate()?;
        Ok(TrustConfig {
            tls,
            jwt,
            clients: self.clients.or(lower.clients).unwrap_or_default(),
            insecure: self.insecure.or(lower.insecure).unwrap_or(false),
            reflection: self.reflection.or(lower.reflection).unwrap_or(ReflectionAccess::Authenticated),
            audit_retention_days,
            limits,
        })
    }
}

impl TrustConfig {
    /// Whether leye may start on `listen` with these settings (see the module docs).
    pub fn check_exposure(&self, listen: SocketAddr) -> anyhow::Result<()> {
        if listen.ip().is_loopback() || self.insecure {
            return Ok(());
        }
        anyhow::ensure!(
            self.tls.is_some(),
            "refusing to listen on {listen} without TLS: set tls_cert and tls_key (see README, \"Security\"), \
             listen on a loopback address, or pass --insecure"
        );
        anyhow::ensure!(
            self.jwt.is_some() || !self.clients.is_empty(),
            "refusing to listen on {listen} without configured authentication: set jwt_issuer, jwt_audience and \
             jwks_file, or map client certificates in [[clients]] (see README, \"Security\"), or pass --insecure"
        );
        Ok(())
    }

    /// The token verifier's settings: the configured issuer, or the
    /// development issuer of `data_dir` (created on first use).
    pub fn jwt_config(&self, data_dir: &Path) -> anyhow::Result<JwtConfig> {
        if let Some(j) = &self.jwt {
            let mut c = JwtConfig::new(j.issuer.clone(), j.audience.clone(), j.jwks_file.clone());
            c.max_clock_skew_secs = j.max_clock_skew_secs;
            return Ok(c);
        }
        let (_, jwks) = dev_issuer(data_dir)?;
        Ok(JwtConfig::new(leye_auth::dev::DEV_ISSUER, leye_auth::dev::DEV_AUDIENCE, jwks))
    }
}

/// The development issuer's signing key and JWKS in `data_dir`, created if missing.
pub fn dev_issuer(data_dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = data_dir.join(DEV_AUTH_DIR);
    let key = dir.join(format!("{DEV_KEY_ID}.key.pem"));
    let jwks = dir.join(format!("{DEV_KEY_ID}.jwks.json"));
    // The JWKS is written after the key: once it has content, both are complete.
    let ready = || key.is_file() && std::fs::metadata(&jwks).is_ok_and(|m| m.len() > 0);
    if ready() {
        return Ok((key, jwks));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    match leye_auth::dev::create_signing_key(&dir, DEV_KEY_ID) {
        Ok(paths) => Ok(paths),
        Err(e) => {
            // Another process (`leye serve` and `leye dev token` started together)
            // may be creating the same files, which are never overwritten: wait
            // for its key and JWKS rather than fail.
            for _ in 0..100 {
                if ready() {
                    return Ok((key, jwks));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(anyhow::Error::new(e).context(format!("creating the development token issuer in {}", dir.display())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_waits_at_most_its_bound_and_always_less_than_the_request_timeout() {
        let limits = Limits::default();
        assert_eq!(limits.query_wait_max(), Duration::from_secs(5));
        let short = Limits { request_timeout_secs: 2, query_wait_max_ms: 9000, ..Limits::default() };
        assert_eq!(short.query_wait_max(), Duration::from_millis(1900));
        let zero = Limits { query_wait_max_ms: 0, ..Limits::default() };
        assert!(zero.validate().unwrap_err().to_string().contains("limits.query_wait_max_ms"));
    }

    #[test]
    fn an_exposed_address_needs_tls_and_authentication_or_insecure() {
        let public: SocketAddr = "0.0.0.0:50051".parse().unwrap();
        let loopback: SocketAddr = "127.0.0.1:50051".parse().unwrap();
        let plain = TrustConfig::default();
        assert!(plain.check_exposure(loopback).is_ok());
        let err = plain.check_exposure(public).unwrap_err().to_string();
        assert!(err.contains("without TLS") && err.contains("--insecure"), "{err}");
        let tls = TlsFiles { cert: "c.pem".into(), key: "k.pem".into(), client_ca: None };
        let no_auth = TrustConfig { tls: Some(tls.clone()), ..TrustConfig::default() };
        assert!(no_auth.check_exposure(public).unwrap_err().to_string().contains("authentication"));
        let jwt = JwtSettings {
            issuer: "i".into(),
            audience: "a".into(),
            jwks_file: "j.json".into(),
            max_clock_skew_secs: 60,
        };
        let secured = TrustConfig { tls: Some(tls), jwt: Some(jwt), ..TrustConfig::default() };
        assert!(secured.check_exposure(public).is_ok());
        let insecure = TrustConfig { insecure: true, ..TrustConfig::default() };
        assert!(insecure.check_exposure(public).is_ok());
    }

    /// `leye serve` and `leye dev token` (or a test) starting together on a new
    /// data directory: one creates the issuer, the others wait for it.
    #[test]
    fn the_development_issuer_is_created_once_under_concurrent_starts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || dev_issuer(&path).map(|(k, j)| (k, j, std::fs::read(j_of(&path)).unwrap())))
            })
            .collect();
        let results: Vec<_> =
            handles.into_iter().map(|h| h.join().unwrap().expect("every start gets the issuer")).collect();
        assert!(results.windows(2).all(|w| w[0] == w[1]), "one issuer for all");
        assert!(!results[0].2.is_empty());
        fn j_of(p: &Path) -> PathBuf {
            p.join(DEV_AUTH_DIR).join(format!("{DEV_KEY_ID}.jwks.json"))
        }
    }

    #[test]
    fn bad_trust_settings_are_refused_naming_the_key() {
        for (settings, key) in [
            (TrustSettings { tls_cert: Some("c".into()), ..Default::default() }, "tls_key"),
            (TrustSettings { tls_client_ca: Some("ca".into()), ..Default::default() }, "tls_client_ca"),
            (TrustSettings { jwt_issuer: Some("i".into()), ..Default::default() }, "jwks_file"),
            (TrustSettings { audit_retention_days: Some(30), ..Default::default() }, "audit_retention_days"),
            (
                TrustSettings {
                    limits: Some(Limits { max_connections: 0, ..Limits::default() }),
                    ..Default::default()
                },
                "limits.max_connections",
            ),
        ] {
            let err = settings.layered_over(TrustSettings::default()).unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
    }
}
