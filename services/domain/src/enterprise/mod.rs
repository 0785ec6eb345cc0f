//! The enterprise (用人单位) case: one stream per enterprise, identified by its
//! unified social credit code (domain.md §2.2).
//!
//! # Rules (each holds by a test in `tests.rs`, named after its rejection code)
//! - Every fact but registration needs a registered case (`CASE_NOT_FOUND`); an
//!   enterprise is registered once (`ALREADY_REGISTERED`).
//! - Every fact's effective date lies on or before today (`EFFECTIVE_DATE_IN_FUTURE`,
//!   field `effective_date`) and not before the registration (`BEFORE_REGISTRATION`).
//! - A headcount names the first day of a month that has begun by the effective
//!   date (`INVALID_MONTH`, field `headcount.month`), once per month
//!   (`HEADCOUNT_EXISTS`).
//! - Hires, batch layoffs, layoff plans and subsidies are named by client-chosen
//!   ids, unique in the case: `HIRE_EXISTS`, `LAYOFF_EXISTS`, `LAYOFF_PLAN_EXISTS`,
//!   `SUBSIDY_EXISTS`; revoking needs the subsidy (`SUBSIDY_NOT_FOUND`), not yet
//!   revoked (`SUBSIDY_ALREADY_REVOKED`), on or after its grant (`BEFORE_START`).
//! - An economic layoff plan gives the union or all staff at least 30 days'
//!   notice, "提前30日向工会或全体职工说明情况" (000 § 3, 002 #13): planned layoff
//!   date − notice date ≥ 30 days, else `NOTICE_TOO_SHORT` (field
//!   `plan.notice_given_on`). The plan records a notice already given:
//!   a notice dated after the filing is `NOTICE_AFTER_FILING` (same field); and
//!   it is filed before it is carried out ("对拟进行经济性裁员的企业", 002 #13): a
//!   layoff planned before the filing date is `LAYOFF_BEFORE_FILING` (field
//!   `plan.planned_layoff_on`); the filing day itself is allowed.
//! - A registration's `check_character_valid` states what the GB 32100-2015
//!   check of its credit code gives; a contradicting flag is
//!   `CHECK_CHARACTER_MISMATCH` (field `registration.check_character_valid`).
//! - Key-enterprise designation needs more than 200 insured employees on its date,
//!   "对超 200人重点企业进行用工监测" (000 § 28): 200 is `BELOW_KEY_ENTERPRISE_SIZE`,
//!   201 qualifies; a second designation is `ALREADY_DESIGNATED`.
//! - Batch layoffs of 20+ / 40+ people call for warning and tracking / training and
//!   job fairs (000 § 3, "20人以上" / "40人以上", inclusive): [`layoff_response`].
//!   This is derived, not a rule: a layoff of any size ≥ 1 is recorded.
//! - A service after a batch layoff (tracking visit, skills training, job fair)
//!   names a layoff of the case (`LAYOFF_NOT_FOUND`) and is dated on or after
//!   the layoff's date (`BEFORE_START`). The same service may be given again
//!   (a second visit, another fair); whether service followed in time is for
//!   the targets to judge (projections/TARGETS.md), not a rule here.
//! - Internship posts (见习岗位) are offered under client-chosen ids, unique in
//!   the case (`INTERNSHIP_OFFER_EXISTS`).
//! - Public-welfare and community-service posts developed (001 § 9) are
//!   recorded under client-chosen ids, unique in the case
//!   (`POSTS_DEVELOPMENT_EXISTS`).
//! - A guarantee loan (创业担保贷款, 001 § 4) is recorded under a client-chosen
//!   id, unique in the case (`LOAN_EXISTS`), with a term of 1 to 60 months
//!   (`INVALID_LOAN_TERM`, field `loan.term_months`); the principal is a
//!   positive amount in fen of at most `MAX_LOAN_PRINCIPAL_FEN`
//!   (`loan_principal`, called at the edge).
//!
//! - A hire names the person's case but does not touch it: leye's hire linker
//!   (`services/leye/src/linker.rs`) records the placement on the person's case
//!   and then settles the hire here, once: `LinkHire` or `RefuseHireLink`, on a
//!   hire that exists (`HIRE_NOT_FOUND`) and is not settled (`HIRE_LINK_SETTLED`).

mod facts;
mod state;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::Datelike;
use serde::{Deserialize, Serialize};

pub use facts::*;
pub use state::*;

use crate::{
    Date,
    person::{DecodeError, EligibilityFinding, SubsidyGrant, SubsidyRevocation},
    subsidy::{
        self, ApproveProposal, RejectProposal, ReviewRefusal, SubsidyApproval, SubsidyProposal,
        SubsidyProposalRejection,
    },
};

// === impl EnterpriseRejectionCode ===

/// Stable, machine-readable rejection codes of the enterprise case. The string
/// forms are part of the public contract: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnterpriseRejectionCode {
    /// The case does not exist (no registration recorded).
    CaseNotFound,
    /// The enterprise is already registered.
    AlreadyRegistered,
    /// The effective date lies after today (Beijing time).
    EffectiveDateInFuture,
    /// The effective date lies before the registration.
    BeforeRegistration,
    /// A headcount month is not the first day of a month, or has not begun.
    InvalidMonth,
    /// A headcount for this month is already on the case.
    HeadcountExists,
    /// A hire with this id is already on the case.
    HireExists,
    /// A batch layoff with this id is already on the case.
    LayoffExists,
    /// A layoff plan with this id is already on the case.
    LayoffPlanExists,
    /// A layoff plan gives less than 30 days' notice (000 § 3, 002 #13).
    NoticeTooShort,
    /// Key-enterprise designation needs more than 200 insured employees (000 § 28).
    BelowKeyEnterpriseSize,
    /// The enterprise is already a key enterprise.
    AlreadyDesignated,
    /// A subsidy with this id is already on the case.
    SubsidyExists,
    /// No subsidy with this id on the case.
    SubsidyNotFound,
    /// The subsidy was already revoked.
    SubsidyAlreadyRevoked,
    /// The date lies before the start of what it ends or follows (a grant, a
    /// proposal, a batch layoff).
    BeforeStart,
    /// No hire with this id on the case.
    HireNotFound,
    /// The hire is already linked to a placement, or its link was refused.
    HireLinkSettled,
    /// No subsidy proposal with this id on the case.
    ProposalNotFound,
    /// The proposal was already approved or rejected.
    ProposalDecided,
    /// Separation of duties: the proposer cannot review their own proposal.
    SelfReview,
    /// Reviewing proposals needs the supervisor role.
    NotSupervisor,
    /// No batch layoff with this id on the case.
    LayoffNotFound,
    /// An internship offer with this id is already on the case.
    InternshipOfferExists,
    /// Eligibility under this rule is already noted on the case (政策找人).
    EligibilityAlreadyNoted,
    /// Posts developed with this id are already on the case.
    PostsDevelopmentExists,
    /// A guarantee loan with this id is already on the case.
    LoanExists,
    /// A guarantee loan's term is outside 1 to 60 months.
    InvalidLoanTerm,
    /// A layoff plan's notice to the union or staff is dated after the plan's
    /// filing: a notice not yet given cannot meet the 30 days (000 § 3, 002 #13).
    NoticeAfterFiling,
    /// A layoff plan filed after its planned layoff date: a plan is filed
    /// before it is carried out (对拟进行经济性裁员的企业, 002 #13).
    LayoffBeforeFiling,
    /// A registration whose `check_character_valid` flag contradicts the
    /// GB 32100-2015 check of its credit code.
    CheckCharacterMismatch,
}

impl EnterpriseRejectionCode {
    /// Every code, for documentation and exhaustive tests.
    pub const ALL: [EnterpriseRejectionCode; 31] = [
        Self::CaseNotFound,
        Self::AlreadyRegistered,
        Self::EffectiveDateInFuture,
        Self::BeforeRegistration,
        Self::InvalidMonth,
        Self::HeadcountExists,
        Self::HireExists,
        Self::LayoffExists,
        Self::LayoffPlanExists,
        Self::NoticeTooShort,
        Self::BelowKeyEnterpriseSize,
        Self::AlreadyDesignated,
        Self::SubsidyExists,
        Self::SubsidyNotFound,
        Self::SubsidyAlreadyRevoked,
        Self::BeforeStart,
        Self::HireNotFound,
        Self::HireLinkSettled,
        Self::ProposalNotFound,
        Self::ProposalDecided,
        Self::SelfReview,
        Self::NotSupervisor,
        Self::LayoffNotFound,
        Self::InternshipOfferExists,
        Self::EligibilityAlreadyNoted,
        Self::PostsDevelopmentExists,
        Self::LoanExists,
        Self::InvalidLoanTerm,
        Self::NoticeAfterFiling,
        Self::LayoffBeforeFiling,
        Self::CheckCharacterMismatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CaseNotFound => "CASE_NOT_FOUND",
            Self::AlreadyRegistered => "ALREADY_REGISTERED",
            Self::EffectiveDateInFuture => "EFFECTIVE_DATE_IN_FUTURE",
            Self::BeforeRegistration => "BEFORE_REGISTRATION",
            Self::InvalidMonth => "INVALID_MONTH",
            Self::HeadcountExists => "HEADCOUNT_EXISTS",
            Self::HireExists => "HIRE_EXISTS",
            Self::LayoffExists => "LAYOFF_EXISTS",
            Self::LayoffPlanExists => "LAYOFF_PLAN_EXISTS",
            Self::NoticeTooShort => "NOTICE_TOO_SHORT",
            Self::BelowKeyEnterpriseSize => "BELOW_KEY_ENTERPRISE_SIZE",
            Self::AlreadyDesignated => "ALREADY_DESIGNATED",
            Self::SubsidyExists => "SUBSIDY_EXISTS",
            Self::SubsidyNotFound => "SUBSIDY_NOT_FOUND",
            Self::SubsidyAlreadyRevoked => "SUBSIDY_ALREADY_REVOKED",
            Self::BeforeStart => "BEFORE_START",
            Self::HireNotFound => "HIRE_NOT_FOUND",
            Self::HireLinkSettled => "HIRE_LINK_SETTLED",
            Self::ProposalNotFound => "PROPOSAL_NOT_FOUND",
            Self::ProposalDecided => "PROPOSAL_DECIDED",
            Self::SelfReview => "SELF_REVIEW",
            Self::NotSupervisor => "NOT_SUPERVISOR",
            Self::LayoffNotFound => "LAYOFF_NOT_FOUND",
            Self::InternshipOfferExists => "INTERNSHIP_OFFER_EXISTS",
            Self::EligibilityAlreadyNoted => "ELIGIBILITY_ALREADY_NOTED",
            Self::PostsDevelopmentExists => "POSTS_DEVELOPMENT_EXISTS",
            Self::LoanExists => "LOAN_EXISTS",
            Self::InvalidLoanTerm => "INVALID_LOAN_TERM",
            Self::NoticeAfterFiling => "NOTICE_AFTER_FILING",
            Self::LayoffBeforeFiling => "LAYOFF_BEFORE_FILING",
            Self::CheckCharacterMismatch => "CHECK_CHARACTER_MISMATCH",
        }
    }
}

impl fmt::Display for EnterpriseRejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The enterprise decider's refusal: a stable code, a text for people, and the
/// request field at fault when the refusal is about one field's value. Texts
/// never contain personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EnterpriseRejection {
    pub code: EnterpriseRejectionCode,
    pub message: String,
    pub field: Option<&'static str>,
}

impl EnterpriseRejection {
    pub fn new(code: EnterpriseRejectionCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None }
    }

    /// A refusal about the value of one request field.
    pub fn on_field(code: EnterpriseRejectionCode, field: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: Some(field) }
    }
}

use EnterpriseRejection as Rejection;
use EnterpriseRejectionCode as Code;

// === commands and events ===

/// What a caseworker or another system asks to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "command", content = "fact", rename_all = "snake_case")]
pub enum EnterpriseCommand {
    Register(EnterpriseRegistration),
    ReportHeadcount(Headcount),
    RecordHire(Hire),
    ReportBatchLayoff(BatchLayoff),
    /// A service given after a batch layoff (000 § 3).
    RecordLayoffService(LayoffServiceProvision),
    /// 见习岗位 offered.
    OfferInternshipPosts(InternshipOffer),
    /// 公益性岗位/社区服务岗位 developed (001 § 9).
    DevelopWelfarePosts(WelfarePostsDevelopment),
    /// 创业担保贷款 lent (001 § 4).
    RecordGuaranteeLoan(GuaranteeLoan),
    FileLayoffPlan(LayoffPlan),
    DesignateKeyEnterprise,
    ReportLabourShortage(LabourShortage),
    /// Propose a subsidy evaluated against the catalogue (see [`crate::subsidy`]).
    ProposeSubsidy(SubsidyProposal),
    /// Approve a proposal: the subsidy is granted.
    ApproveSubsidy(ApproveProposal),
    RejectSubsidyProposal(RejectProposal),
    RevokeSubsidy(SubsidyRevocation),
    LinkHire(HireLink),
    RefuseHireLink(HireLinkRefusal),
    /// 政策找人: sent by the service's eligibility finder only; not a public gRPC command.
    NoteEligibility(EligibilityFinding),
}

impl EnterpriseCommand {
    /// A short stable name, for logs and summaries, e.g. `record_hire`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Register(_) => "register",
            Self::ReportHeadcount(_) => "report_headcount",
            Self::RecordHire(_) => "record_hire",
            Self::ReportBatchLayoff(_) => "report_batch_layoff",
            Self::RecordLayoffService(_) => "record_layoff_service",
            Self::OfferInternshipPosts(_) => "offer_internship_posts",
            Self::DevelopWelfarePosts(_) => "develop_welfare_posts",
            Self::RecordGuaranteeLoan(_) => "record_guarantee_loan",
            Self::FileLayoffPlan(_) => "file_layoff_plan",
            Self::DesignateKeyEnterprise => "designate_key_enterprise",
            Self::ReportLabourShortage(_) => "report_labour_shortage",
            Self::ProposeSubsidy(_) => "propose_subsidy",
            Self::ApproveSubsidy(_) => "approve_subsidy",
            Self::RejectSubsidyProposal(_) => "reject_subsidy_proposal",
            Self::RevokeSubsidy(_) => "revoke_subsidy",
            Self::LinkHire(_) => "link_hire",
            Self::RefuseHireLink(_) => "refuse_hire_link",
            Self::NoteEligibility(_) => "note_eligibility",
        }
    }
}

/// A command with the date the fact happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatedEnterpriseCommand {
    pub effective_date: Date,
    pub command: EnterpriseCommand,
}

/// What happened: the payload of one recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum EnterpriseFact {
    Registered(EnterpriseRegistration),
    HeadcountReported(Headcount),
    HireRecorded(Hire),
    BatchLayoffReported(BatchLayoff),
    LayoffServiceProvided(LayoffServiceProvision),
    InternshipPostsOffered(InternshipOffer),
    WelfarePostsDeveloped(WelfarePostsDevelopment),
    GuaranteeLoanGranted(GuaranteeLoan),
    LayoffPlanFiled(LayoffPlan),
    DesignatedKeyEnterprise,
    LabourShortageReported(LabourShortage),
    SubsidyProposed(SubsidyProposal),
    SubsidyApproved(SubsidyApproval),
    SubsidyProposalRejected(SubsidyProposalRejection),
    SubsidyGranted(SubsidyGrant),
    SubsidyRevoked(SubsidyRevocation),
    HireLinked(HireLink),
    HireLinkRefused(HireLinkRefusal),
    /// 政策找人: eligible for a programme not yet received (recorded by the service).
    EligibilityFound(EligibilityFinding),
}

impl EnterpriseFact {
    /// Stable event type name, e.g. `enterprise.hire_recorded`.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Registered(_) => "enterprise.registered",
            Self::HeadcountReported(_) => "enterprise.headcount_reported",
            Self::HireRecorded(_) => "enterprise.hire_recorded",
            Self::BatchLayoffReported(_) => "enterprise.batch_layoff_reported",
            Self::LayoffServiceProvided(_) => "enterprise.layoff_service_provided",
            Self::InternshipPostsOffered(_) => "enterprise.internship_posts_offered",
            Self::WelfarePostsDeveloped(_) => "enterprise.welfare_posts_developed",
            Self::GuaranteeLoanGranted(_) => "enterprise.guarantee_loan_granted",
            Self::LayoffPlanFiled(_) => "enterprise.layoff_plan_filed",
            Self::DesignatedKeyEnterprise => "enterprise.designated_key_enterprise",
            Self::LabourShortageReported(_) => "enterprise.labour_shortage_reported",
            Self::SubsidyProposed(_) => "enterprise.subsidy_proposed",
            Self::SubsidyApproved(_) => "enterprise.subsidy_approved",
            Self::SubsidyProposalRejected(_) => "enterprise.subsidy_proposal_rejected",
            Self::SubsidyGranted(_) => "enterprise.subsidy_granted",
            Self::SubsidyRevoked(_) => "enterprise.subsidy_revoked",
            Self::HireLinked(_) => "enterprise.hire_linked",
            Self::HireLinkRefused(_) => "enterprise.hire_link_refused",
            Self::EligibilityFound(_) => "enterprise.eligibility_found",
        }
    }
}

/// One event of an enterprise case: a fact and the date it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseEvent {
    pub effective_date: Date,
    #[serde(flatten)]
    pub fact: EnterpriseFact,
}

/// Current schema version of every enterprise event payload.
pub const SCHEMA_VERSION: u32 = 1;

impl EnterpriseEvent {
    /// The stored payload (JSON).
    pub fn encode(&self) -> Vec<u8> {
        crate::envelope::encode_payload(self)
    }

    /// Reads a stored payload, upcasting older schema versions (none yet):
    /// straight into the fact's type when the payload is as the service
    /// writes it, else through serde's derive, with the same value or error
    /// (`crate::stored`).
    pub fn decode(event_type: &str, schema_version: u32, data: &[u8]) -> Result<Self, DecodeError> {
        crate::stored::enterprise(event_type, schema_version, data)
            .map_or_else(|| Self::decode_by_serde(event_type, schema_version, data), Ok)
    }

    /// [`Self::decode`] through serde's derive alone: slower, and the
    /// reference the short way is held to.
    pub fn decode_by_serde(event_type: &str, schema_version: u32, data: &[u8]) -> Result<Self, DecodeError> {
        crate::envelope::decode_payload(event_type, schema_version, SCHEMA_VERSION, data, |e: &Self| {
            e.fact.event_type()
        })
    }
}

// === the decider ===

/// Decides whether `cmd` may be recorded on `case`, and what happened.
/// `today` is the current date in Beijing time, passed in by the caller.
pub fn decide(
    case: &EnterpriseCase,
    cmd: DatedEnterpriseCommand,
    today: Date,
) -> Result<Vec<EnterpriseEvent>, EnterpriseRejection> {
    let on = cmd.effective_date;
    if on > today {
        return Err(Rejection::on_field(
            Code::EffectiveDateInFuture,
            "effective_date",
            "the effective date lies in the future",
        ));
    }
    let fact = match (case.file(), cmd.command) {
        (None, EnterpriseCommand::Register(reg)) => {
            let checked = reg.credit_code.check_character_valid();
            if reg.check_character_valid != checked {
                return Err(Rejection::on_field(
                    Code::CheckCharacterMismatch,
                    "registration.check_character_valid",
                    format!(
                        "the flag says the check character is {}, but the credit code {} the GB 32100-2015 check",
                        if reg.check_character_valid { "valid" } else { "invalid" },
                        if checked { "passes" } else { "fails" },
                    ),
                ));
            }
            EnterpriseFact::Registered(reg)
        }
        (None, _) => return Err(Rejection::new(Code::CaseNotFound, "no enterprise case with this id")),
        (Some(file), EnterpriseCommand::ApproveSubsidy(a)) => {
            let (approval, grant) = subsidy::decide_approval(&file.proposals, &a, on).map_err(review_refused)?;
            return Ok(vec![
                EnterpriseEvent { effective_date: on, fact: EnterpriseFact::SubsidyApproved(approval) },
                EnterpriseEvent { effective_date: on, fact: EnterpriseFact::SubsidyGranted(grant) },
            ]);
        }
        (Some(file), EnterpriseCommand::Register(_)) => {
            return Err(Rejection::new(
                Code::AlreadyRegistered,
                format!("the enterprise is already registered since {}", file.registered_on),
            ));
        }
        (Some(file), command) => decide_on_file(file, command, on)?,
    };
    Ok(vec![EnterpriseEvent { effective_date: on, fact }])
}

fn decide_on_file(file: &EnterpriseFile, command: EnterpriseCommand, on: Date) -> Result<EnterpriseFact, Rejection> {
    if on < file.registered_on {
        return Err(Rejection::new(
            Code::BeforeRegistration,
            format!("the effective date lies before the registration of {}", file.registered_on),
        ));
    }
    let exists = |found: bool, code: Code, what: &str| {
        if found { Err(Rejection::new(code, format!("a {what} with this id is already on the case"))) } else { Ok(()) }
    };
    Ok(match command {
        EnterpriseCommand::Register(_) => {
            return Err(Rejection::new(Code::AlreadyRegistered, "the enterprise is already registered"));
        }
        EnterpriseCommand::ReportHeadcount(h) => {
            if h.month.day() != 1 {
                return Err(Rejection::on_field(
                    Code::InvalidMonth,
                    "headcount.month",
                    "the month must be given as its first day",
                ));
            }
            if h.month > on {
                return Err(Rejection::on_field(
                    Code::InvalidMonth,
                    "headcount.month",
                    "the month has not begun on the effective date",
                ));
            }
            if file.headcounts.contains_key(&h.month) {
                return Err(Rejection::new(
                    Code::HeadcountExists,
                    format!("a headcount for {} is already on the case", h.month.format("%Y-%m")),
                ));
            }
            EnterpriseFact::HeadcountReported(h)
        }
        EnterpriseCommand::RecordHire(h) => {
            exists(file.hire(&h.hire_id).is_some(), Code::HireExists, "hire")?;
            EnterpriseFact::HireRecorded(h)
        }
        EnterpriseCommand::ReportBatchLayoff(l) => {
            exists(file.layoff(&l.layoff_id).is_some(), Code::LayoffExists, "batch layoff")?;
            EnterpriseFact::BatchLayoffReported(l)
        }
        EnterpriseCommand::RecordLayoffService(s) => {
            let Some(layoff) = file.layoff(&s.layoff_id) else {
                return Err(Rejection::new(Code::LayoffNotFound, "no batch layoff with this layoff_id on the case"));
            };
            if on < layoff.reported_on {
                return Err(Rejection::new(
                    Code::BeforeStart,
                    format!("the effective date lies before the batch layoff ({})", layoff.reported_on),
                ));
            }
            EnterpriseFact::LayoffServiceProvided(s)
        }
        EnterpriseCommand::OfferInternshipPosts(o) => {
            exists(file.internship_offer(&o.offer_id).is_some(), Code::InternshipOfferExists, "internship offer")?;
            EnterpriseFact::InternshipPostsOffered(o)
        }
        EnterpriseCommand::DevelopWelfarePosts(d) => {
            exists(file.welfare_posts(&d.development_id).is_some(), Code::PostsDevelopmentExists, "posts development")?;
            EnterpriseFact::WelfarePostsDeveloped(d)
        }
        EnterpriseCommand::RecordGuaranteeLoan(l) => {
            exists(file.guarantee_loan(&l.loan_id).is_some(), Code::LoanExists, "guarantee loan")?;
            if !(1..=MAX_LOAN_TERM_MONTHS).contains(&l.term_months) {
                return Err(Rejection::on_field(
                    Code::InvalidLoanTerm,
                    "loan.term_months",
                    format!("the term must be 1 to {MAX_LOAN_TERM_MONTHS} months; it is {}", l.term_months),
                ));
            }
            EnterpriseFact::GuaranteeLoanGranted(l)
        }
        EnterpriseCommand::FileLayoffPlan(p) => {
            exists(file.layoff_plan(&p.plan_id).is_some(), Code::LayoffPlanExists, "layoff plan")?;
            let notice = (p.planned_layoff_on - p.notice_given_on).num_days();
            if notice < LAYOFF_NOTICE_DAYS {
                return Err(Rejection::on_field(
                    Code::NoticeTooShort,
                    "plan.notice_given_on",
                    format!(
                        "the union or all staff must be told at least {LAYOFF_NOTICE_DAYS} days before the layoff \
                         (000 § 3, 002 #13); the plan gives {notice}"
                    ),
                ));
            }
            if p.notice_given_on > on {
                return Err(Rejection::on_field(
                    Code::NoticeAfterFiling,
                    "plan.notice_given_on",
                    format!(
                        "the notice to the union or all staff ({}) is dated after the plan's filing ({on}); \
                         a plan records a notice already given (000 § 3, 002 #13)",
                        p.notice_given_on
                    ),
                ));
            }
            if p.planned_layoff_on < on {
                return Err(Rejection::on_field(
                    Code::LayoffBeforeFiling,
                    "plan.planned_layoff_on",
                    format!(
                        "the planned layoff date ({}) lies before the plan's filing ({on}); a plan is filed \
                         before it is carried out (对拟进行经济性裁员的企业, 002 #13)",
                        p.planned_layoff_on
                    ),
                ));
            }
            EnterpriseFact::LayoffPlanFiled(p)
        }
        EnterpriseCommand::DesignateKeyEnterprise => {
            if let Some(since) = file.designated_key_on {
                return Err(Rejection::new(
                    Code::AlreadyDesignated,
                    format!("the enterprise is a key enterprise since {since}"),
                ));
            }
            if !file.key_enterprise_size_on(on) {
                let n = file.insured_employees_on(on).unwrap_or(0);
                return Err(Rejection::new(
                    Code::BelowKeyEnterpriseSize,
                    format!(
                        "a key enterprise has more than {KEY_ENTERPRISE_MORE_THAN} insured employees (000 § 28); \
                         this one has {n}"
                    ),
                ));
            }
            EnterpriseFact::DesignatedKeyEnterprise
        }
        EnterpriseCommand::ReportLabourShortage(s) => EnterpriseFact::LabourShortageReported(s),
        EnterpriseCommand::ProposeSubsidy(p) => EnterpriseFact::SubsidyProposed(
            subsidy::decide_proposal(&file.proposals, &file.subsidies, p).map_err(review_refused)?,
        ),
        EnterpriseCommand::ApproveSubsidy(a) => {
            // Handled in `decide`: it records two facts.
            let (approval, _) = subsidy::decide_approval(&file.proposals, &a, on).map_err(review_refused)?;
            EnterpriseFact::SubsidyApproved(approval)
        }
        EnterpriseCommand::RejectSubsidyProposal(r) => EnterpriseFact::SubsidyProposalRejected(
            subsidy::decide_rejection(&file.proposals, &r, on).map_err(review_refused)?,
        ),
        EnterpriseCommand::RevokeSubsidy(r) => {
            let Some(subsidy) = file.subsidy(&r.subsidy_id) else {
                return Err(Rejection::new(Code::SubsidyNotFound, "no subsidy with this subsidy_id on the case"));
            };
            if let Some(revoked_on) = subsidy.revoked_on {
                return Err(Rejection::new(
                    Code::SubsidyAlreadyRevoked,
                    format!("the subsidy was revoked on {revoked_on}"),
                ));
            }
            if on < subsidy.granted_on {
                return Err(Rejection::new(
                    Code::BeforeStart,
                    format!("the effective date lies before the grant ({})", subsidy.granted_on),
                ));
            }
            EnterpriseFact::SubsidyRevoked(r)
        }
        EnterpriseCommand::LinkHire(link) => {
            settle_hire(file, &link.hire_id)?;
            EnterpriseFact::HireLinked(link)
        }
        EnterpriseCommand::RefuseHireLink(refusal) => {
            settle_hire(file, &refusal.hire_id)?;
            EnterpriseFact::HireLinkRefused(refusal)
        }
        EnterpriseCommand::NoteEligibility(e) => {
            if let Some(noted) = file.eligibility(&e.rule_id) {
                return Err(Rejection::new(
                    Code::EligibilityAlreadyNoted,
                    format!("eligibility under this rule was already noted on {}", noted.found_on),
                ));
            }
            EnterpriseFact::EligibilityFound(e)
        }
    })
}

/// A hire may be settled (linked or refused) once.
fn settle_hire(file: &EnterpriseFile, hire_id: &str) -> Result<(), Rejection> {
    let Some(hire) = file.hire(hire_id) else {
        return Err(Rejection::new(Code::HireNotFound, "no hire with this hire_id on the case"));
    };
    if hire.link != HireLinkState::Pending {
        return Err(Rejection::new(Code::HireLinkSettled, "the hire is already linked, or its link was refused"));
    }
    Ok(())
}

/// Folds one event into the case. Total: an event that cannot apply (never
/// produced by `decide`) leaves the case as it was.
pub fn evolve(mut case: EnterpriseCase, event: &EnterpriseEvent) -> EnterpriseCase {
    case.apply(event);
    case
}

/// A refused review, as the enterprise case's rejection.
fn review_refused(r: ReviewRefusal) -> Rejection {
    let code = match &r {
        ReviewRefusal::IdTaken => return Rejection::on_field(Code::SubsidyExists, "proposal_id", r.message()),
        ReviewRefusal::NotFound => Code::ProposalNotFound,
        ReviewRefusal::Decided(_) => Code::ProposalDecided,
        ReviewRefusal::SelfReview => Code::SelfReview,
        ReviewRefusal::NotSupervisor => Code::NotSupervisor,
        ReviewRefusal::BeforeProposal(_) => Code::BeforeStart,
    };
    Rejection::new(code, r.message())
}
