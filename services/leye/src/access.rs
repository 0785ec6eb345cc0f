//! Who may do what, where: the one authorization table (role × operation ×
//! jurisdiction) and the gate every request carries through the service.
//!
//! # How a request is decided
//! 1. `grpc::guard` (the one layer every RPC passes) authenticates the caller
//!    into a [`Principal`], finds the [`Operation`] by its gRPC path (an
//!    unknown path is refused: deny by default) and checks the **role** part
//!    of the table with [`authorize`]. It then hands the request on with a
//!    [`Gate`] in its extensions.
//! 2. The **jurisdiction** part is checked by that same gate where the place
//!    is known: a case's place inside the case's turn on the command path
//!    (`cases.rs`, on exactly the state the decision is made on), a requested
//!    area before a read-model query. No handler decides access itself: it
//!    passes the gate, and the gate answers from [`RULES`].
//!
//! # Places
//! A person case is at its residence (district, street, community) of the
//! latest registration; an enterprise case at its seat, known by district
//! only, so a street- or community-level principal reaches no enterprise.
//! Access follows where a case is **now**, also for queries as of a past date.
//!
//! A person who moves between districts re-registers with the new residence:
//! the principal recording it must cover **both** the place the case is at
//! and the place it moves to (a city-level caseworker, or one whose
//! jurisdiction lists both). Neither district can take a case from the other
//! or push one out alone — a move changes which district's targets count the
//! person.

use std::sync::{Arc, Mutex};

use leye_auth::{Principal, Role};
use uuid::Uuid;

/// Where a case is: district, and street and community where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub district: String,
    pub street: Option<String>,
    pub community: Option<String>,
}

/// What a rule's jurisdiction is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The case the request names (its current place).
    Case,
    /// The area the request names (`jurisdiction`: city, district, street or community).
    Area,
    /// A household: at least one of its members' places.
    Household,
    /// The audit trail: records of one case in the principal's jurisdiction,
    /// or any record for a city-level principal.
    AuditTrail,
    /// The service as a whole (operations of the admin role).
    Service,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The gRPC method, `package.Service/Method`.
    pub operation: &'static str,
    /// Roles allowed (any one suffices). A `system` principal is allowed the
    /// operations its configuration grants instead.
    pub roles: &'static [Role],
    pub scope: Scope,
    /// Reads or writes personal data (resident ID, name, case facts).
    pub personal_data: bool,
}

use Role::{Admin, Analyst, Auditor, Caseworker, Supervisor};
use Scope::{Area, AuditTrail, Case, Household, Service};

const CW: &[Role] = &[Caseworker];
const SUP: &[Role] = &[Supervisor];
const CW_SUP: &[Role] = &[Caseworker, Supervisor];
const CASE_READ: &[Role] = &[Caseworker, Supervisor, Auditor];
const REPLAY: &[Role] = &[Auditor, Supervisor];
const FIGURES: &[Role] = &[Analyst, Supervisor];
const WORK_LISTS: &[Role] = &[Analyst, Supervisor, Caseworker];
const AUDIT: &[Role] = &[Auditor];
const AUDIT_ADMIN: &[Role] = &[Auditor, Admin];

macro_rules! rules {
    ($($service:literal { $($method:literal => $roles:expr, $scope:expr, $pd:expr;)* })*) => {
        /// The authorization table: every operation the service answers. An
        /// operation not listed here is refused (`NO_RULE`).
        pub const RULES: &[Rule] = &[
            $($(Rule { operation: concat!($service, "/", $method), roles: $roles, scope: $scope, personal_data: $pd },)*)*
        ];
    };
}

rules! {
    "leye.person.v1.PersonCaseService" {
        "RegisterUnemployment" => CW, Case, true;
        "RecogniseDifficulty" => CW, Case, true;
        "RecordContact" => CW, Case, true;
        "RecommendJob" => CW, Case, true;
        "EnrolTraining" => CW, Case, true;
        "CompleteTraining" => CW, Case, true;
        "DropTraining" => CW, Case, true;
        "RecordPlacement" => CW, Case, true;
        "EndPlacement" => CW, Case, true;
        "ProposeSubsidy" => CW, Case, true;
        "EvaluateSubsidy" => CW_SUP, Case, true;
        "ApproveSubsidy" => SUP, Case, true;
        "RejectSubsidyProposal" => SUP, Case, true;
        "RevokeSubsidy" => SUP, Case, true;
        "StartBenefit" => CW, Case, true;
        "EndBenefit" => CW, Case, true;
        "ExitRegistration" => CW, Case, true;
        "JoinHousehold" => CW, Case, true;
        "LeaveHousehold" => CW, Case, true;
        // Irreversible: a supervisor of the case's place, never the caseworker
        // alone (as for revoking a grant); auditors stay read-only, admins reach no case.
        "ErasePersonalData" => SUP, Case, true;
        "GetCase" => CASE_READ, Case, true;
        "FindCaseByResidentId" => CASE_READ, Case, true;
        "ReplayCase" => REPLAY, Case, true;
    }
    "leye.enterprise.v1.EnterpriseCaseService" {
        "RegisterEnterprise" => CW, Case, false;
        "ReportHeadcount" => CW, Case, false;
        "RecordHire" => CW, Case, true;
        "ReportBatchLayoff" => CW, Case, false;
        "RecordLayoffService" => CW, Case, false;
        "OfferInternshipPosts" => CW, Case, false;
        "DevelopWelfarePosts" => CW, Case, false;
        "RecordGuaranteeLoan" => CW, Case, false;
        "FileLayoffPlan" => CW, Case, false;
        "DesignateKeyEnterprise" => CW, Case, false;
        "ReportLabourShortage" => CW, Case, false;
        "ProposeSubsidy" => CW, Case, false;
        "EvaluateSubsidy" => CW_SUP, Case, false;
        "ApproveSubsidy" => SUP, Case, false;
        "RejectSubsidyProposal" => SUP, Case, false;
        "RevokeSubsidy" => SUP, Case, false;
        "GetEnterprise" => CASE_READ, Case, false;
        "FindEnterpriseByCreditCode" => CASE_READ, Case, false;
        "ReplayEnterprise" => REPLAY, Case, false;
    }
    "leye.analytics.v1.TargetsService" {
        "GetTargets" => FIGURES, Area, false;
        "ListActions" => WORK_LISTS, Area, false;
        "ListSubsidyTotals" => FIGURES, Area, false;
        "ListCommunities" => FIGURES, Area, false;
        "GetHousehold" => WORK_LISTS, Household, false;
        "ListEligible" => WORK_LISTS, Area, false;
    }
    "leye.audit.v1.AuditService" {
        "ListAuditRecords" => AUDIT, AuditTrail, false;
        "VerifyAuditTrail" => AUDIT_ADMIN, Service, false;
    }
}

/// Paths answered without a principal: the standard health service, as load
/// balancers and orchestrators expect.
pub const PUBLIC_PREFIXES: &[&str] = &["/grpc.health.v1.Health/"];

/// Reflection services: public, authenticated (any principal) or off, by configuration.
pub const REFLECTION_PREFIXES: &[&str] =
    &["/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/"];

/// The table's row for a gRPC path (`/package.Service/Method`).
pub fn rule_for(path: &str) -> Option<&'static Rule> {
    let op = path.strip_prefix('/')?;
    RULES.iter().find(|r| r.operation == op)
}

/// Why a request is refused. `reason()` is the stable `ErrorInfo.reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("no rule allows this operation")]
    NoRule,
    #[error("the operation needs one of the roles: {0}")]
    RoleMissing(String),
    #[error("the case or area is outside the caller's jurisdiction")]
    OutOfJurisdiction,
    #[error("querying the audit trail without a case needs a city-level jurisdiction")]
    CityLevelRequired,
    /// A request field that disagrees with the authenticated principal.
    #[error("{field} disagrees with the authenticated principal")]
    ContextMismatch { field: &'static str },
}

impl Denied {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoRule => "NO_RULE",
            Self::RoleMissing(_) => "ROLE_MISSING",
            Self::OutOfJurisdiction => "OUT_OF_JURISDICTION",
            Self::CityLevelRequired => "CITY_LEVEL_REQUIRED",
            Self::ContextMismatch { .. } => "CONTEXT_MISMATCH",
        }
    }
}

/// The role part of the table: may `principal` call `rule` at all?
pub fn authorize(principal: &Principal, rule: &Rule) -> Result<(), Denied> {
    let by_role = rule.roles.iter().any(|r| principal.has_role(*r));
    let by_grant = principal.has_role(Role::System) && principal.operations.contains(rule.operation);
    if by_role || by_grant {
        Ok(())
    } else {
        let names: Vec<String> = rule.roles.iter().map(|r| r.to_string()).collect();
        Err(Denied::RoleMissing(names.join(", ")))
    }
}

/// A request's authority, from the guard to wherever the place is known.
/// Records the cases it was checked against, for the audit trail.
#[derive(Debug, Clone)]
pub struct Gate {
    principal: Arc<Principal>,
    rule: &'static Rule,
    touched: Arc<Mutex<Vec<Uuid>>>,
    /// The reason of a denial decided past the guard, for the audit record.
    denial: Arc<Mutex<Option<&'static str>>>,
}

impl Gate {
    pub fn new(principal: Arc<Principal>, rule: &'static Rule) -> Self {
        Self { principal, rule, touched: Arc::default(), denial: Arc::default() }
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn rule(&self) -> &'static Rule {
        self.rule
    }

    /// Notes that the request touched `case_id` (audit), whatever the outcome.
    pub fn touch(&self, case_id: Uuid) {
        if let Ok(mut t) = self.touched.lock() {
            if !t.contains(&case_id) {
                t.push(case_id);
            }
        }
    }

    /// The cases touched so far.
    pub fn touched(&self) -> Vec<Uuid> {
        self.touched.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Refuses the request for `d`, noting the reason for the audit record.
    pub fn deny(&self, d: Denied) -> Denied {
        if let Ok(mut slot) = self.denial.lock() {
            slot.get_or_insert(d.reason());
        }
        d
    }

    /// The reason of the denial decided past the guard, if any.
    pub fn denial(&self) -> Option<&'static str> {
        self.denial.lock().ok().and_then(|d| *d)
    }

    /// The jurisdiction part of the table for a case at `place`.
    pub fn check_place(&self, case_id: Uuid, place: &Place) -> Result<(), Denied> {
        self.touch(case_id);
        if self.principal.covers(&place.district, place.street.as_deref(), place.community.as_deref()) {
            Ok(())
        } else {
            Err(self.deny(Denied::OutOfJurisdiction))
        }
    }

    /// The jurisdiction part of the table for an area code (`""` = the city).
    pub fn check_area(&self, area: &str) -> Result<(), Denied> {
        if self.principal.covers_area(area) { Ok(()) } else { Err(self.deny(Denied::OutOfJurisdiction)) }
    }

    /// Whether the principal covers the whole city.
    pub fn city_level(&self) -> bool {
        self.principal.covers_area("")
    }
}

/// Who a command or query acts for.
#[derive(Debug, Clone)]
pub enum Access {
    /// A request from outside, with its gate.
    Caller(Gate),
    /// The service's own followers (policy finder, hire linker), by their
    /// reserved actor name. No client can be one: `leye-auth` refuses every
    /// principal whose id starts with [`leye_auth::SERVICE_ACTOR_PREFIX`].
    Service(&'static str),
}

impl Access {
    /// The service reading a case for its own decision (a payee's facts, a
    /// hire's person): nothing from it reaches the caller but the decision.
    pub fn internal() -> Self {
        Self::Service("leye-internal")
    }

    /// Checks a case at `place` (no check for the service itself).
    pub fn check_place(&self, case_id: Uuid, place: &Place) -> Result<(), Denied> {
        match self {
            Self::Caller(gate) => gate.check_place(case_id, place),
            Self::Service(_) => Ok(()),
        }
    }

    /// Notes a case touched (audit) without checking it: a case that does not exist.
    pub fn touch(&self, case_id: Uuid) {
        if let Self::Caller(gate) = self {
            gate.touch(case_id);
        }
    }

    /// The roles to record with the events (sorted names).
    pub fn roles(&self) -> Vec<String> {
        match self {
            Self::Caller(gate) => gate.principal.roles.iter().map(|r| r.to_string()).collect(),
            Self::Service(_) => vec!["service".into()],
        }
    }

    /// How the actor was authenticated, safe to record and log.
    pub fn authenticated_by(&self) -> String {
        match self {
            Self::Caller(gate) => gate.principal.method.label(),
            Self::Service(_) => "service".into(),
        }
    }

    /// Whether the actor holds `role` (the service holds none).
    pub fn has_role(&self, role: Role) -> bool {
        matches!(self, Self::Caller(gate) if gate.principal.has_role(role))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use prost::Message;
    use prost_types::FileDescriptorSet;

    use super::*;

    /// Every method of every leye service has exactly one row, and every row
    /// names a method that exists: the table and the contract cannot drift.
    #[test]
    fn the_table_has_one_row_per_rpc_of_the_contract() {
        let fds = FileDescriptorSet::decode(leye_proto::FILE_DESCRIPTOR_SET).expect("descriptor set");
        let mut methods = BTreeSet::new();
        for file in &fds.file {
            for service in &file.service {
                for method in &service.method {
                    methods.insert(format!("{}.{}/{}", file.package(), service.name(), method.name()));
                }
            }
        }
        let rows: Vec<&str> = RULES.iter().map(|r| r.operation).collect();
        let unique: BTreeSet<&str> = rows.iter().copied().collect();
        assert_eq!(rows.len(), unique.len(), "an operation has two rows");
        let rows: BTreeSet<String> = unique.into_iter().map(String::from).collect();
        assert_eq!(rows, methods, "table rows vs contract methods");
    }

    #[test]
    fn unknown_paths_have_no_rule() {
        assert!(rule_for("/leye.person.v1.PersonCaseService/GetCase").is_some());
        assert!(rule_for("/leye.person.v1.PersonCaseService/NoteEligibility").is_none());
        assert!(rule_for("leye.person.v1.PersonCaseService/GetCase").is_none());
        assert!(rule_for("/").is_none());
    }
}
