//! The one place where errors become gRPC statuses.
//!
//! | error | code | details |
//! |---|---|---|
//! | a field's value is bad (parse, or a rejection about one field) | `INVALID_ARGUMENT` | `BadRequest` naming each field; `ErrorInfo` reason for domain codes |
//! | the case's rules refuse the fact | `FAILED_PRECONDITION` | `ErrorInfo` reason = rejection code, metadata `case_revision` |
//! | the policy in force refuses a subsidy | `FAILED_PRECONDITION` | `ErrorInfo` reason `POLICY_REFUSED` (metadata `rule_id`, `failed_checks`, `clauses` separated by " \| ", `max_amount_fen`), `PreconditionFailure` per failed check, the whole `PolicyDecision` |
//! | a proposal names an unknown rule / one not in the case's district | `INVALID_ARGUMENT` / `NOT_FOUND` | `ErrorInfo` reason `UNKNOWN_RULE` / `RULE_NOT_IN_DISTRICT` |
//! | no such case | `NOT_FOUND` | `ErrorInfo` reason `CASE_NOT_FOUND` |
//! | the case moved on (pinned `expected_revision`, or lost races) | `ABORTED` | `ErrorInfo` reason `REVISION_CONFLICT`, metadata `current_revision` |
//! | command id reused with another command | `ALREADY_EXISTS` | `ErrorInfo` reason `COMMAND_ID_REUSED` |
//! | no credentials, or credentials that do not verify | `UNAUTHENTICATED` | `ErrorInfo` reason e.g. `TOKEN_EXPIRED`, `CREDENTIALS_MISSING` |
//! | the table allows no role of the caller, the case or area is outside its jurisdiction, a context field disagrees with it | `PERMISSION_DENIED` | `ErrorInfo` reason `ROLE_MISSING`, `OUT_OF_JURISDICTION`, `CONTEXT_MISMATCH` (metadata `field`), `CITY_LEVEL_REQUIRED`, `NO_RULE` |
//! | too many requests in flight | `RESOURCE_EXHAUSTED` | `ErrorInfo` reason `OVERLOADED` |
//! | the audit record cannot be written | `UNAVAILABLE` | `ErrorInfo` reason `AUDIT_UNAVAILABLE` |
//! | the store failed its integrity check at start (commands refused) | `UNAVAILABLE` | `ErrorInfo` reason `CHAIN_BROKEN`, `STORE_CORRUPT` or `CHAIN_KEY` |
//! | store closed or failing | `UNAVAILABLE` | — |
//! | a stored event cannot be read | `INTERNAL` | — (details go to the log, not the client) |
//!
//! Texts never contain personal data: rules are stated without the offending value.

use std::collections::HashMap;

use leye_domain::{RejectionCode, enterprise::EnterpriseRejectionCode};
use leye_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use leye_policy::{Decision, NotApplicable};
use prost::Message;

use crate::{access::Denied, cases::AppError, wire::subsidy::decision_pb};

/// `google.rpc.ErrorInfo.domain` of every leye error.
pub const ERROR_DOMAIN: &str = "leye.gov.tj";

/// Collects every field violation of a request, so the client learns them all at once.
#[derive(Debug, Default)]
pub struct Fields {
    violations: Vec<FieldViolation>,
}

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `rule` against `field`.
    pub fn bad(&mut self, field: impl Into<String>, rule: impl Into<String>) {
        self.violations.push(FieldViolation::new(field, rule));
    }

    /// The value, or `None` after recording why `field` is bad.
    pub fn take<T, E: std::fmt::Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.bad(field, e.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// `INVALID_ARGUMENT` listing every violation.
    pub fn into_status(self) -> Status {
        let text: Vec<String> = self.violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect();
        let message = if text.is_empty() { "invalid request".to_string() } else { text.join("; ") };
        Status::with_error_details(Code::InvalidArgument, message, ErrorDetails::with_bad_request(self.violations))
    }
}

fn info(reason: &str, metadata: HashMap<String, String>) -> ErrorDetails {
    ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata)
}

/// A decider's refusal: `INVALID_ARGUMENT` when it is about one field's value,
/// `NOT_FOUND` for a missing case, else `FAILED_PRECONDITION`.
fn refused(reason: &str, message: &str, field: Option<&str>, not_found: bool) -> Status {
    if let Some(field) = field {
        let mut details = ErrorDetails::with_bad_request_violation(field, message);
        details.set_error_info(reason, ERROR_DOMAIN, HashMap::new());
        return Status::with_error_details(Code::InvalidArgument, format!("{field}: {message}"), details);
    }
    let code = if not_found { Code::NotFound } else { Code::FailedPrecondition };
    Status::with_error_details(code, format!("{reason}: {message}"), info(reason, HashMap::new()))
}

// === subsidy refusals ===

/// Maps a subsidy RPC's error to its status: a policy refusal as below, any
/// other error as every RPC maps it ([`to_status`]).
pub fn subsidy_status(err: AppError) -> Status {
    match err {
        AppError::PolicyRefused(d) => rule_not_applicable(&d).unwrap_or_else(|| policy_refused(&d)),
        other => to_status(other),
    }
}

/// An approval names no rule: whatever the evaluation on the approval date
/// refuses (a rule that lapsed or was replaced meanwhile included) is a
/// policy refusal.
pub fn approval_status(err: AppError) -> Status {
    match err {
        AppError::PolicyRefused(d) => policy_refused(&d),
        other => to_status(other),
    }
}

/// An unknown rule id is a bad request field (`INVALID_ARGUMENT`, reason
/// `UNKNOWN_RULE`); a rule of another district, or a city rule the district's
/// own rule replaces there, is not found among the case district's rules
/// (`NOT_FOUND`, reason `RULE_NOT_IN_DISTRICT`). `None` for any other decision.
fn rule_not_applicable(d: &Decision) -> Option<Status> {
    let mut meta = HashMap::new();
    meta.insert("rule_id".to_string(), d.rule_id.clone());
    match d.not_applicable.as_ref()? {
        NotApplicable::UnknownRule => {
            let rule = "no rule with this id in the policy catalogue";
            let mut details = ErrorDetails::with_bad_request_violation("rule_id", rule);
            // An id the catalogue does not hold is the caller's text: not repeated.
            details.set_error_info("UNKNOWN_RULE", ERROR_DOMAIN, HashMap::new());
            return Some(Status::with_error_details(Code::InvalidArgument, format!("rule_id: {rule}"), details));
        }
        NotApplicable::NotInForce(_) => return None,
        NotApplicable::OtherJurisdiction(_) => {}
        NotApplicable::ReplacedBy(by) => {
            meta.insert("replaced_by".to_string(), by.clone());
        }
    }
    // The decision's one check says whose rule it is (no personal data).
    let why = d.checks.first().map(|c| c.detail.clone()).unwrap_or_default();
    let mut details = ErrorDetails::with_error_info("RULE_NOT_IN_DISTRICT", ERROR_DOMAIN, meta);
    details.set_resource_info("policy rule", d.rule_id.clone(), "", why.clone());
    Some(Status::with_error_details(Code::NotFound, format!("rule_id: {why}"), details))
}

/// `FAILED_PRECONDITION`, reason `POLICY_REFUSED`: every failed check with its
/// clause in the message and as `PreconditionFailure` violations (type = the
/// check, subject = the clause). `ErrorInfo` metadata: `rule_id`,
/// `failed_checks` (comma-separated) and `clauses`, one entry per failed
/// check in the same order separated by [`CLAUSES_SEPARATOR`] (an entry may
/// itself cite several clauses, separated by "; " as in the catalogue), and
/// `max_amount_fen` when known. The whole decision, the checks that passed
/// included, follows as a `leye.person.v1.PolicyDecision` detail.
fn policy_refused(d: &Decision) -> Status {
    let failed: Vec<&leye_policy::Check> = d.failed().collect();
    let text: Vec<String> = failed.iter().map(|c| format!("[{}] {} ({})", c.check, c.detail, c.clause)).collect();
    let mut meta = HashMap::new();
    meta.insert("rule_id".to_string(), d.rule_id.clone());
    meta.insert("failed_checks".to_string(), failed.iter().map(|c| c.check.as_str()).collect::<Vec<_>>().join(","));
    let clauses: Vec<&str> = failed.iter().map(|c| c.clause.as_str()).collect();
    meta.insert("clauses".to_string(), clauses.join(CLAUSES_SEPARATOR));
    if let Some(max) = d.max_amount {
        meta.insert("max_amount_fen".to_string(), max.get().to_string());
    }
    let mut details = ErrorDetails::with_error_info("POLICY_REFUSED", ERROR_DOMAIN, meta);
    let violations = failed
        .iter()
        .map(|c| tonic_types::PreconditionViolation::new(c.check.clone(), c.clause.clone(), c.detail.clone()))
        .collect::<Vec<_>>();
    details.set_precondition_failure(violations);
    let message = format!("POLICY_REFUSED: {} refused: {}", d.rule_id, text.join("; "));
    let status = Status::with_error_details(Code::FailedPrecondition, message.clone(), details);
    with_decision(status, Code::FailedPrecondition, message, d)
}

/// Separates the `clauses` entries of a refusal: a character no clause
/// ("000 § 9", "002 #34; 004 § 10") contains.
pub const CLAUSES_SEPARATOR: &str = " | ";

/// The type URL of the decision attached to a refusal.
pub const DECISION_TYPE_URL: &str = "type.googleapis.com/leye.person.v1.PolicyDecision";

/// Appends the full decision to a status's `google.rpc.Status` details.
fn with_decision(status: Status, code: Code, message: String, d: &Decision) -> Status {
    let Ok(mut rpc) = tonic_types::Status::decode(status.details()) else { return status };
    rpc.details
        .push(prost_types::Any { type_url: DECISION_TYPE_URL.to_string(), value: decision_pb(d).encode_to_vec() });
    Status::with_details(code, message, rpc.encode_to_vec().into())
}

/// `PERMISSION_DENIED` with the denial's stable reason. Says what is missing,
/// never anything about the case.
pub fn denied(d: &Denied) -> Status {
    let mut meta = HashMap::new();
    if let Denied::ContextMismatch { field } = d {
        meta.insert("field".to_string(), (*field).to_string());
    }
    Status::with_error_details(Code::PermissionDenied, format!("{}: {d}", d.reason()), info(d.reason(), meta))
}

/// `UNAUTHENTICATED` with the verification failure's stable reason.
pub fn unauthenticated(reason: &str, message: &str) -> Status {
    Status::with_error_details(Code::Unauthenticated, format!("{reason}: {message}"), info(reason, HashMap::new()))
}

/// `RESOURCE_EXHAUSTED`: shed, not queued, so memory stays bounded.
pub fn overloaded(what: &str) -> Status {
    Status::with_error_details(
        Code::ResourceExhausted,
        format!("OVERLOADED: {what}; retry with backoff"),
        info("OVERLOADED", HashMap::new()),
    )
}

/// `UNAVAILABLE`: the request's audit record could not be written, so it is not answered.
pub fn audit_unavailable() -> Status {
    Status::with_error_details(
        Code::Unavailable,
        "AUDIT_UNAVAILABLE: the audit record could not be written; the request is not answered",
        info("AUDIT_UNAVAILABLE", HashMap::new()),
    )
}

/// Maps an application error to its status (see the table above).
pub fn to_status(err: AppError) -> Status {
    match err {
        AppError::Rejected(r) => refused(r.code.as_str(), &r.message, r.field, r.code == RejectionCode::CaseNotFound),
        AppError::EnterpriseRejected(r) => {
            refused(r.code.as_str(), &r.message, r.field, r.code == EnterpriseRejectionCode::CaseNotFound)
        }
        AppError::PolicyRefused(decision) => policy_refused(&decision),
        AppError::BadInput { field, rule } => {
            let mut f = Fields::new();
            f.bad(field, rule);
            f.into_status()
        }
        AppError::Conflict { current } => {
            let mut meta = HashMap::new();
            let shown = current.map_or_else(|| "none".to_string(), |r| r.to_string());
            meta.insert("current_revision".to_string(), shown.clone());
            Status::with_error_details(
                Code::Aborted,
                format!("the case changed concurrently; its current revision is {shown}"),
                info("REVISION_CONFLICT", meta),
            )
        }
        AppError::CommandIdReused => Status::with_error_details(
            Code::AlreadyExists,
            "context.command_id: already used for a different command",
            info("COMMAND_ID_REUSED", HashMap::new()),
        ),
        AppError::NotFound => {
            Status::with_error_details(Code::NotFound, "no such case", info("CASE_NOT_FOUND", HashMap::new()))
        }
        AppError::Denied(d) => denied(&d),
        AppError::Store(StoreError::Closed) => Status::unavailable("the service is shutting down"),
        AppError::Store(StoreError::Integrity { code, .. }) => Status::with_error_details(
            Code::Unavailable,
            format!(
                "{code}: the event store failed its integrity check at start; commands are refused until an \
                 operator checks it (`leye verify`)"
            ),
            info(code, HashMap::new()),
        ),
        AppError::Store(e) => {
            tracing::error!(error = %e, "store failure");
            Status::unavailable("the event store is unavailable")
        }
        AppError::Vault(e) => {
            tracing::error!(error = %e, "personal-data key store failure");
            Status::unavailable("the personal-data key store is unavailable; the incident is logged")
        }
        AppError::Corrupt(e) => {
            tracing::error!(error = %e, "stored event cannot be read");
            Status::internal("a stored event cannot be read; the incident is logged")
        }
    }
}
