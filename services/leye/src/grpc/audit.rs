//! The audit gRPC adapter: auditors query and verify the audit trail
//! (`leye-audit`). Thin: parse → query on a blocking thread → map to protobuf.

use chrono::{DateTime, Utc};
use leye_audit::{AuditFilter, AuditLog, BreakKind, VerifyReport};
use leye_proto::audit::v1::{self as pb, audit_service_server::AuditService};
use tonic::{Request, Response, Status};

use leye_store::EventStore;

use super::{
    guard::gated,
    person::{parse_uuid, timestamp},
    status::{Fields, denied, to_status},
};
use crate::{
    access::{Access, Denied, Gate},
    cases::{AppError, AsOf, Enterprise, PersonCases},
};

const MAX_PAGE: u32 = 1000;
const DEFAULT_PAGE: u32 = 100;

/// The gRPC face of the audit trail.
#[derive(Debug, Clone)]
pub struct AuditApi<S> {
    log: AuditLog,
    /// To find where a case is, for a district auditor's query by case.
    people: PersonCases<S>,
}

impl<S: EventStore> AuditApi<S> {
    pub fn new(log: AuditLog, people: PersonCases<S>) -> Self {
        Self { log, people }
    }

    /// Whether the caller's jurisdiction covers the case (person or enterprise).
    async fn check_case(&self, gate: &Gate, case_id: uuid::Uuid) -> Result<(), Status> {
        let access = Access::Caller(gate.clone());
        let found = match self.people.state(case_id, AsOf::Latest, &access).await {
            Err(AppError::NotFound) => {
                self.people.of_kind::<Enterprise>().state(case_id, AsOf::Latest, &access).await.map(|_| ())
            }
            other => other.map(|_| ()),
        };
        match found {
            Ok(()) => Ok(()),
            // No case to place it: only the city's auditors may look.
            Err(AppError::NotFound) => Err(denied(&gate.deny(Denied::OutOfJurisdiction))),
            Err(e) => Err(to_status(e)),
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AuditLog) -> Result<T, leye_audit::AuditError> + Send + 'static,
    ) -> Result<T, Status> {
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || f(&log))
            .await
            .map_err(|e| Status::internal(format!("audit query task failed: {e}")))?
            .map_err(|e| {
                tracing::error!(error = %e, "audit trail query failed");
                Status::unavailable("the audit trail is unavailable")
            })
    }
}

fn time_pb(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

fn break_name(kind: BreakKind) -> &'static str {
    match kind {
        BreakKind::Edited => "edited",
        BreakKind::Deleted => "deleted",
        BreakKind::Inserted => "inserted",
        BreakKind::Truncated => "truncated",
        BreakKind::HeadMismatch => "head_mismatch",
        BreakKind::AnchorMismatch => "anchor_mismatch",
    }
}

/// The protobuf form of a verification, shared with `leye audit verify`'s wording.
pub fn verify_pb(r: &VerifyReport) -> pb::VerifyAuditTrailResponse {
    pb::VerifyAuditTrailResponse {
        intact: r.broken.is_none(),
        records: r.records,
        first_seq: r.first_seq.unwrap_or(0),
        last_seq: r.last_seq.unwrap_or(0),
        head_hash: r.head_hash.clone(),
        broken_at_seq: r.broken.as_ref().map_or(0, |b| b.seq),
        break_kind: r.broken.as_ref().map(|b| break_name(b.what).to_string()).unwrap_or_default(),
        detail: r.broken.as_ref().map(|b| b.detail.clone()).unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl<S: EventStore> AuditService for AuditApi<S> {
    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        let (gate, r) = gated(request)?;
        let mut f = Fields::new();
        let case_id =
            if r.case_id.trim().is_empty() { Some(None) } else { f.take("case_id", parse_uuid(&r.case_id)).map(Some) };
        let from = r.from.as_ref().map(|t| f.take("from", timestamp(t)));
        let to = r.to.as_ref().map(|t| f.take("to", timestamp(t)));
        let limit = match r.page_size {
            0 => Some(DEFAULT_PAGE),
            n if n <= MAX_PAGE => Some(n),
            _ => {
                f.bad("page_size", format!("must be at most {MAX_PAGE}"));
                None
            }
        };
        let after = if r.page_token.is_empty() {
            Some(0)
        } else {
            f.take("page_token", r.page_token.parse::<u64>().map_err(|_| "is not a token from a previous page"))
        };
        if r.principal.chars().count() > 64 {
            f.bad("principal", "must be at most 64 characters");
        }
        if r.operation.chars().count() > 200 {
            f.bad("operation", "must be at most 200 characters");
        }
        let (Some(case_id), Some(limit), Some(after), true) = (case_id, limit, after, f.is_empty()) else {
            return Err(f.into_status());
        };
        let (Some(from), Some(to)) = (from.map_or(Some(None), |t| t.map(Some)), to.map_or(Some(None), |t| t.map(Some)))
        else {
            return Err(f.into_status());
        };
        // A case's records: the case must be the caller's. Anything else: the city's auditors.
        match case_id {
            Some(_) | None if gate.city_level() => {}
            Some(id) => self.check_case(&gate, id).await?,
            None => return Err(denied(&gate.deny(Denied::CityLevelRequired))),
        }
        let filter = AuditFilter {
            principal: Some(r.principal.trim().to_lowercase()).filter(|p| !p.is_empty()),
            case_id,
            operation: Some(r.operation.trim().to_string()).filter(|o| !o.is_empty()),
            from,
            to,
        };
        let page = self.blocking(move |log| log.query(&filter, after, limit)).await?;
        Ok(Response::new(pb::ListAuditRecordsResponse {
            next_page_token: page.next_after.map(|a| a.to_string()).unwrap_or_default(),
            records: page
                .entries
                .into_iter()
                .map(|e| pb::AuditRecord {
                    seq: e.seq,
                    time: Some(time_pb(e.record.time)),
                    principal: e.record.principal,
                    authenticated_by: e.record.authn,
                    peer: e.record.peer,
                    operation: e.record.operation,
                    case_ids: e.record.case_ids.iter().map(|c| c.to_string()).collect(),
                    outcome: e.record.outcome,
                    reason: e.record.reason,
                })
                .collect(),
        }))
    }

    async fn verify_audit_trail(
        &self,
        request: Request<pb::VerifyAuditTrailRequest>,
    ) -> Result<Response<pb::VerifyAuditTrailResponse>, Status> {
        let (_gate, _) = gated(request)?;
        let report = self.blocking(|log| log.verify()).await?;
        Ok(Response::new(verify_pb(&report)))
    }
}
