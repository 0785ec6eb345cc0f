//! The one layer every RPC passes: authentication, the role part of the
//! authorization table, load shedding, and the audit record.
//!
//! For each request, in one direction:
//! 1. the standard health service passes untouched (no principal, no record);
//! 2. beyond the global concurrency limit the request is shed
//!    (`RESOURCE_EXHAUSTED`), never queued;
//! 3. the caller is authenticated: a bearer token when the request carries
//!    one, else the client certificate of the TLS session
//!    (`UNAUTHENTICATED` when neither verifies);
//! 4. the path is looked up in [`access::RULES`] (no row: `PERMISSION_DENIED`
//!    `NO_RULE`) and the principal's roles are checked (`ROLE_MISSING`);
//! 5. the request goes on with a [`Gate`] in its extensions; handlers take it
//!    with [`gated`] and the jurisdiction is checked where the place is known;
//! 6. the outcome (status code, denial reason, cases touched) is written to
//!    the audit trail and made durable **before** the answer leaves: a request
//!    whose record cannot be written gets `UNAVAILABLE` instead of its answer.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use leye_audit::{AuditLog, AuditRecord};
use leye_auth::{AuthError, CertificateMap, Principal, TokenVerifier};
use tonic::{
    Status,
    body::Body,
    codegen::http::{Request, Response},
    server::NamedService,
    transport::server::TlsConnectInfo,
};
use tower::{Layer, Service};
use tracing::Instrument;

use super::{net::ConnInfo, status};
use crate::access::{self, Denied, Gate};

/// Who may call the reflection service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReflectionAccess {
    /// Anyone, without credentials.
    Public,
    /// Any authenticated principal, whatever its roles (the default).
    Authenticated,
    /// Not served.
    Off,
}

/// How callers prove who they are.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    pub tokens: Option<Arc<TokenVerifier>>,
    pub certificates: Option<Arc<CertificateMap>>,
}

impl Authenticator {
    /// The principal of a request: its bearer token if it has one, else its
    /// client certificate.
    pub(crate) fn authenticate(
        &self,
        bearer: Option<&str>,
        cert: Option<&[u8]>,
        now: i64,
    ) -> Result<Principal, AuthError> {
        if let Some(token) = bearer {
            return match &self.tokens {
                Some(v) => v.verify(token, now),
                None => Err(AuthError::CredentialsMissing),
            };
        }
        match (cert, &self.certificates) {
            (Some(der), Some(map)) => map.principal(der),
            _ => Err(AuthError::CredentialsMissing),
        }
    }
}

/// What the guard needs, shared by every connection.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub authenticator: Authenticator,
    pub audit: AuditLog,
    pub reflection: ReflectionAccess,
    /// Requests in flight over all connections; beyond it, shed.
    pub max_in_flight: usize,
    /// Requests counted and timed here when set (the health service and
    /// public reflection are not).
    pub metrics: Option<Arc<crate::telemetry::Metrics>>,
}

/// The tower layer of [`Guard`].
#[derive(Debug, Clone)]
pub struct GuardLayer {
    config: Arc<GuardConfig>,
    in_flight: Arc<tokio::sync::Semaphore>,
}

impl GuardLayer {
    pub fn new(config: GuardConfig) -> Self {
        let in_flight = Arc::new(tokio::sync::Semaphore::new(config.max_in_flight));
        Self { config: Arc::new(config), in_flight }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard { inner, config: self.config.clone(), in_flight: self.in_flight.clone() }
    }
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    config: Arc<GuardConfig>,
    in_flight: Arc<tokio::sync::Semaphore>,
}

/// How the request was handled before the handler (if it got there).
enum Admission {
    Public,
    Refused { status: Status, principal: Option<Principal>, reason: &'static str },
    Admitted { gate: Option<Gate>, principal: Principal },
}

impl<S> Guard<S> {
    fn admit(&self, path: &str, bearer: Option<&str>, cert: Option<&[u8]>) -> Admission {
        if access::PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p)) {
            return Admission::Public;
        }
        let reflection = access::REFLECTION_PREFIXES.iter().any(|p| path.starts_with(p));
        if reflection && self.config.reflection == ReflectionAccess::Public {
            return Admission::Public;
        }
        let now = chrono::Utc::now().timestamp();
        let principal = match self.config.authenticator.authenticate(bearer, cert, now) {
            Ok(p) => p,
            Err(e) => {
                let reason = e.reason();
                return Admission::Refused {
                    status: status::unauthenticated(reason, &e.to_string()),
                    principal: None,
                    reason,
                };
            }
        };
        if reflection {
            return Admission::Admitted { gate: None, principal };
        }
        let Some(rule) = access::rule_for(path) else {
            return refused(principal, Denied::NoRule);
        };
        if let Err(d) = access::authorize(&principal, rule) {
            return refused(principal, d);
        }
        let shared = Arc::new(principal.clone());
        Admission::Admitted { gate: Some(Gate::new(shared, rule)), principal }
    }
}

fn refused(principal: Principal, d: Denied) -> Admission {
    Admission::Refused { status: status::denied(&d), principal: Some(principal), reason: d.reason() }
}

impl<S> Service<Request<Body>> for Guard<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // The clone is ready only if `self.inner` was: take the ready one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path().to_string();
        let (conn, cert) = connection(&request);
        let bearer = bearer(&request);
        let admission = self.admit(&path, bearer.as_deref(), cert.as_deref());
        let config = self.config.clone();
        let permit = self.in_flight.clone().try_acquire_owned();
        let started = std::time::Instant::now();
        // A path no rule knows is recorded and logged as `other`: its text is
        // the caller's, and may hold anything (a resident ID in the audit
        // trail, which is never erased).
        let operation = method_label(&path, path.trim_start_matches('/')).to_string();
        // Health checks and reflection are not traced (nor counted).
        let span = match admission {
            Admission::Public => tracing::Span::none(),
            _ => crate::logging::request_span(method_label(&path, &operation), request.headers()),
        };
        let answered = async move {
            let _busy = conn.as_ref().map(|c| c.activity.begin());
            let peer = conn.as_ref().and_then(|c| c.remote).map(|a| a.to_string()).unwrap_or_default();
            let done = Done { config: &config, started, method: method_label(&path, &operation) };
            let (principal, gate) = match admission {
                Admission::Public => return inner.call(request).await,
                Admission::Refused { status, principal, reason } => {
                    let record =
                        record(principal.as_ref(), &peer, &operation, Vec::new(), code_name(status.code()), reason);
                    return Ok(done.answer(record, status.into_http()).await);
                }
                Admission::Admitted { gate, principal } => (principal, gate),
            };
            let Ok(_permit) = permit else {
                let status = status::overloaded("too many requests in flight");
                let record =
                    record(Some(&principal), &peer, &operation, Vec::new(), code_name(status.code()), "OVERLOADED");
                return Ok(done.answer(record, status.into_http()).await);
            };
            if let Some(gate) = &gate {
                request.extensions_mut().insert(gate.clone());
            }
            let response = inner.call(request).await?;
            let outcome = Status::from_header_map(response.headers());
            let touched = gate.as_ref().map(Gate::touched).unwrap_or_default();
            // The access denial, else the refusal's own reason (ErrorInfo: a
            // code such as ALREADY_REGISTERED, never a value).
            let reason = match (gate.as_ref().and_then(Gate::denial), &outcome) {
                (Some(denied), _) => denied.to_string(),
                (None, Some(status)) => {
                    use tonic_types::StatusExt;
                    status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default()
                }
                (None, None) => String::new(),
            };
            let record = match &outcome {
                Some(status) => record(Some(&principal), &peer, &operation, touched, code_name(status.code()), &reason),
                None => record(Some(&principal), &peer, &operation, touched, "OK", ""),
            };
            Ok(done.answer(record, response).await)
        };
        Box::pin(answered.instrument(span))
    }
}

impl<S: NamedService> NamedService for Guard<S> {
    const NAME: &'static str = S::NAME;
}

/// What answering a request needs besides the record.
struct Done<'a> {
    config: &'a GuardConfig,
    started: std::time::Instant,
    method: &'a str,
}

impl Done<'_> {
    /// Writes the record, then lets the answer go; `UNAVAILABLE` if the record
    /// cannot be written. Logs the outcome: answered requests at `debug`,
    /// refused ones (the caller's doing) at `info`, the service's failures at
    /// `warn`. Counts and times the request.
    async fn answer(&self, record: AuditRecord, response: Response<Body>) -> Response<Body> {
        log_outcome(&record);
        let code = record.outcome.clone();
        let grpc_code = Status::from_header_map(response.headers()).map_or(tonic::Code::Ok, |s| s.code());
        let (response, code, grpc_code) = match self.config.audit.record(record).await {
            Ok(_) => (response, code, grpc_code),
            Err(e) => {
                tracing::error!(error = %e, "audit record not written; request not answered");
                (status::audit_unavailable().into_http(), "UNAVAILABLE".to_string(), tonic::Code::Unavailable)
            }
        };
        crate::logging::record_status(&tracing::Span::current(), grpc_code);
        if let Some(m) = &self.config.metrics {
            m.request(self.method, &code, self.started.elapsed());
        }
        response
    }
}

/// The `method` label: the operation when the access table (or reflection)
/// knows it, else `other`, so callers cannot mint label values.
fn method_label<'a>(path: &str, operation: &'a str) -> &'a str {
    let known = access::rule_for(path).is_some() || access::REFLECTION_PREFIXES.iter().any(|p| path.starts_with(p));
    if known { operation } else { "other" }
}

/// One line per request, ids and codes only (never personal data).
/// The case list is only formatted when the line is written (an answered
/// request's line is at `debug`, usually off).
pub(crate) fn log_outcome(r: &AuditRecord) {
    let cases = || r.case_ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let (op, code, reason, principal, peer) = (&r.operation, &r.outcome, &r.reason, &r.principal, &r.peer);
    match r.outcome.as_str() {
        "OK" => {
            tracing::debug!(operation = %op, code = %code, principal = %principal, cases = %cases(), "request answered")
        }
        "INTERNAL" | "UNAVAILABLE" | "UNKNOWN" | "DATA_LOSS" | "DEADLINE_EXCEEDED" => {
            tracing::warn!(operation = %op, code = %code, principal = %principal, cases = %cases(), "request failed")
        }
        _ => tracing::info!(
            operation = %op, code = %code, reason = %reason, principal = %principal, peer = %peer, cases = %cases(),
            "request refused"
        ),
    }
}

/// One request's audit record: `code` is the gRPC status code name
/// (`OK`, `PERMISSION_DENIED`, …), for either wire.
pub(crate) fn record(
    principal: Option<&Principal>,
    peer: &str,
    operation: &str,
    case_ids: Vec<uuid::Uuid>,
    code: &str,
    reason: &str,
) -> AuditRecord {
    AuditRecord {
        time: chrono::Utc::now(),
        principal: principal.map(|p| p.id.to_string()).unwrap_or_default(),
        authn: principal.map_or_else(|| "none".to_string(), |p| p.method.label()),
        peer: peer.to_string(),
        operation: operation.to_string(),
        case_ids,
        outcome: code.to_string(),
        reason: reason.to_string(),
    }
}

/// The connection's info and the client certificate (DER), if any.
fn connection(request: &Request<Body>) -> (Option<ConnInfo>, Option<Vec<u8>>) {
    let ext = request.extensions();
    if let Some(tls) = ext.get::<TlsConnectInfo<ConnInfo>>() {
        let cert = tls.peer_certs().and_then(|c| c.first().map(|c| c.as_ref().to_vec()));
        return (Some(tls.get_ref().clone()), cert);
    }
    (ext.get::<ConnInfo>().cloned(), None)
}

/// The token of an `authorization: Bearer …` header.
fn bearer(request: &Request<Body>) -> Option<String> {
    let value = request.headers().get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// The canonical gRPC name of a status code, as the audit trail records it.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The request's gate and message. A request without a gate did not pass the
/// guard: refused (deny by default).
pub fn gated<T>(request: tonic::Request<T>) -> Result<(Gate, T), Status> {
    let gate = request.extensions().get::<Gate>().cloned();
    match gate {
        Some(gate) => Ok((gate, request.into_inner())),
        None => Err(status::denied(&Denied::NoRule)),
    }
}
