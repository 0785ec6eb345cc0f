//! The HTTP counterpart of `grpc::guard`: every `/api/v1/` request passes
//! [`HttpGuard::answer`], which, in one direction,
//! 1. authenticates the bearer token (`Authorization: Bearer <JWT>`) with the
//!    same verifier as gRPC (`401` when missing or invalid);
//! 2. finds the route's row in [`access::RULES`] by the gRPC operation it
//!    mirrors (no row: `403 NO_RULE`, deny by default) and checks the roles
//!    (`403 ROLE_MISSING`);
//! 3. sheds the request beyond the in-flight limit (`429 OVERLOADED`);
//! 4. runs the handler with a [`Gate`], which checks the jurisdiction where
//!    the area or household is known (`403 OUT_OF_JURISDICTION`), within the
//!    request timeout (`503 TIMEOUT`);
//! 5. writes the audit record (operation `http/<gRPC operation>`) and waits
//!    until it is durable **before** the answer leaves; a record that cannot
//!    be written turns the answer into `503 AUDIT_UNAVAILABLE`.
//!
//! Errors are JSON: `{"error": {"status", "code", "reason", "message",
//! "fields": [{"field", "rule"}]}}`, `code` being the gRPC code the same
//! request gets over gRPC. Texts never carry personal data.

use std::sync::Arc;

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use leye_audit::AuditLog;
use serde_json::{Value, json};

use crate::{
    access::{self, Denied, Gate},
    analytics::{QueryError, Violation},
    grpc::{
        guard::{Authenticator, log_outcome},
        net::ConnInfo,
    },
};

/// Why a request is not answered with its figures.
#[derive(Debug)]
pub enum ApiError {
    /// No bearer token, or one that does not verify (`reason` from `leye-auth`).
    Unauthenticated { reason: &'static str, message: String },
    /// The table or the gate refused.
    Denied(Denied),
    /// The query refused or could not answer.
    Query(QueryError),
    /// Too many requests in flight.
    Overloaded,
    /// The audit record could not be written.
    AuditUnavailable,
    /// The query ran past the request timeout (`limits.request_timeout_secs`).
    Timeout,
    /// No route has this path (answered before the guard: nothing to audit).
    NoSuchRoute,
    /// The route exists for `GET` and `HEAD` only (axum adds `Allow`).
    ReadOnly,
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        Self::Query(e)
    }
}

impl ApiError {
    /// A request field breaking a rule.
    pub fn field(field: &str, rule: impl Into<String>) -> Self {
        Self::Query(QueryError::Invalid(vec![Violation { field: field.to_string(), rule: rule.into() }]))
    }

    /// HTTP status, gRPC code name (as the audit trail records it), reason.
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::Unauthenticated { reason, .. } => (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", reason),
            Self::Denied(d) => (StatusCode::FORBIDDEN, "PERMISSION_DENIED", d.reason()),
            Self::Query(QueryError::Invalid(_)) => (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "INVALID_FIELD"),
            Self::Query(QueryError::Denied(d)) => (StatusCode::FORBIDDEN, "PERMISSION_DENIED", d.reason()),
            Self::Query(QueryError::NotFound(_)) => (StatusCode::NOT_FOUND, "NOT_FOUND", "NOT_FOUND"),
            Self::Query(QueryError::Unavailable(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "READ_MODEL_UNAVAILABLE")
            }
            // The dashboard's calls carry no deadline: only the server's bound applies.
            Self::Query(QueryError::NotReached { .. }) => {
                (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "READ_MODEL_BEHIND")
            }
            Self::Overloaded => (StatusCode::TOO_MANY_REQUESTS, "RESOURCE_EXHAUSTED", "OVERLOADED"),
            Self::AuditUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "AUDIT_UNAVAILABLE"),
            Self::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "DEADLINE_EXCEEDED", "TIMEOUT"),
            Self::NoSuchRoute => (StatusCode::NOT_FOUND, "NOT_FOUND", "NO_SUCH_ROUTE"),
            Self::ReadOnly => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "READ_ONLY"),
        }
    }

    fn body(&self) -> Value {
        let (status, code, reason) = self.parts();
        let (message, fields) = match self {
            Self::Unauthenticated { message, .. } => (message.clone(), Vec::new()),
            Self::Denied(d) | Self::Query(QueryError::Denied(d)) => (d.to_string(), Vec::new()),
            Self::Query(QueryError::Invalid(v)) => {
                let text: Vec<String> = v.iter().map(|v| format!("{}: {}", v.field, v.rule)).collect();
                (text.join("; "), v.iter().map(|v| json!({"field": v.field, "rule": v.rule})).collect())
            }
            Self::Query(e) => (e.to_string(), Vec::new()),
            Self::Overloaded => ("too many requests in flight".to_string(), Vec::new()),
            Self::AuditUnavailable => ("the audit record could not be written".to_string(), Vec::new()),
            Self::Timeout => ("the request took longer than the request timeout".to_string(), Vec::new()),
            Self::NoSuchRoute => {
                ("no such route (the API is described at /api/v1/openapi.json)".to_string(), Vec::new())
            }
            Self::ReadOnly => ("the dashboard's API only reads: use GET".to_string(), Vec::new()),
        };
        json!({"error": {"status": status.as_u16(), "code": code, "reason": reason, "message": message, "fields": fields}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = json_response(self.parts().0, &self.body());
        if matches!(self, Self::Unauthenticated { .. }) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// A JSON answer (never cached: it holds figures under access control).
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], bytes)
        .into_response()
}

/// What every API request needs, shared by every connection.
#[derive(Debug, Clone)]
pub struct HttpGuard {
    authenticator: Authenticator,
    audit: AuditLog,
    in_flight: Arc<tokio::sync::Semaphore>,
    /// A query taking longer is answered `503 TIMEOUT` (and recorded so).
    request_timeout: std::time::Duration,
}

impl HttpGuard {
    pub fn new(
        authenticator: Authenticator,
        audit: AuditLog,
        max_in_flight: usize,
        request_timeout: std::time::Duration,
    ) -> Self {
        let in_flight = Arc::new(tokio::sync::Semaphore::new(max_in_flight.max(1)));
        Self { authenticator, audit, in_flight, request_timeout }
    }

    /// Authenticates, authorizes and audits one request for `operation` (the
    /// gRPC operation the route mirrors), running `handler` with its gate.
    pub async fn answer<F, Fut>(&self, operation: &str, conn: &ConnInfo, headers: &HeaderMap, handler: F) -> Response
    where
        F: FnOnce(Gate) -> Fut,
        Fut: std::future::Future<Output = Result<Value, ApiError>>,
    {
        // The connection is not idle while this request runs (grpc::net's idle timeout).
        let _busy = conn.activity.begin();
        let peer = conn.remote.map(|a| a.to_string()).unwrap_or_default();
        let now = chrono::Utc::now().timestamp();
        let admitted = match self.authenticator.authenticate(bearer(headers), None, now) {
            Err(e) => Err((None, ApiError::Unauthenticated { reason: e.reason(), message: e.to_string() })),
            Ok(principal) => match access::rule_for(&format!("/{operation}")) {
                None => Err((Some(principal), ApiError::Denied(Denied::NoRule))),
                Some(rule) => match access::authorize(&principal, rule) {
                    Err(d) => Err((Some(principal), ApiError::Denied(d))),
                    Ok(()) => Ok((principal, rule)),
                },
            },
        };
        let (principal, outcome, touched) = match admitted {
            Err((principal, e)) => (principal, Err(e), Vec::new()),
            Ok((principal, rule)) => match self.in_flight.clone().try_acquire_owned() {
                Err(_) => (Some(principal), Err(ApiError::Overloaded), Vec::new()),
                Ok(_permit) => {
                    let gate = Gate::new(Arc::new(principal.clone()), rule);
                    let outcome = tokio::time::timeout(self.request_timeout, handler(gate.clone()))
                        .await
                        .unwrap_or(Err(ApiError::Timeout));
                    (Some(principal), outcome, gate.touched())
                }
            },
        };
        let (code, reason) = match &outcome {
            Ok(_) => ("OK", ""),
            Err(e) => {
                let (_, code, reason) = e.parts();
                (code, if code == "INVALID_ARGUMENT" || code == "NOT_FOUND" { "" } else { reason })
            }
        };
        let record =
            crate::grpc::guard::record(principal.as_ref(), &peer, &format!("http/{operation}"), touched, code, reason);
        log_outcome(&record);
        if let Err(e) = self.audit.record(record).await {
            tracing::error!(error = %e, "audit record not written; request not answered");
            return ApiError::AuditUnavailable.into_response();
        }
        match outcome {
            Ok(body) => json_response(StatusCode::OK, &body),
            Err(e) => e.into_response(),
        }
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_and_rule_with_the_grpc_code() {
        let e = ApiError::field("period_from", "must be a date YYYY-MM-DD");
        let body = e.body();
        assert_eq!(e.parts().0, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "INVALID_ARGUMENT");
        assert_eq!(body["error"]["fields"][0]["field"], "period_from");
        assert_eq!(body["error"]["fields"][0]["rule"], "must be a date YYYY-MM-DD");
        let d = ApiError::Denied(Denied::OutOfJurisdiction);
        assert_eq!(d.parts(), (StatusCode::FORBIDDEN, "PERMISSION_DENIED", "OUT_OF_JURISDICTION"));
    }

    #[test]
    fn only_a_bearer_scheme_carries_a_token() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }
}
