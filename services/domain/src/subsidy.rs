//! Subsidy proposals and their review: separation of duties, shared by the
//! person and the enterprise case.
//!
//! A subsidy counts only once granted, and it is granted only by approving a
//! proposal (issue 5, item 5):
//! - a caseworker **proposes** (`subsidy_proposed`): the proposal carries the
//!   catalogue rule it was evaluated against, the checks that passed with their
//!   clauses, and the facts the proposer supplied, so the approver (and later
//!   an auditor) sees exactly what was decided on;
//! - another user holding the supervisor role **approves** it
//!   (`subsidy_approved`, then `subsidy_granted`) or **rejects** it with a
//!   reason (`subsidy_proposal_rejected`);
//! - the proposer can neither approve nor reject their own proposal
//!   (`SELF_REVIEW`), a user without the supervisor role neither
//!   (`NOT_SUPERVISOR`), and a proposal is reviewed once (`PROPOSAL_DECIDED`).
//!
//! Whether the grant is allowed by the policy in force is decided outside the
//! domain (the catalogue, `leye-policy`), at proposal and again at approval;
//! this module keeps the roles and the order of events.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{
    Date,
    person::{EligibilityReason, SubsidyGrant, SubsidyRecord},
    values::{DateRange, DistrictCode, Fen},
};

/// The role that may approve or reject proposals.
pub const SUPERVISOR_ROLE: &str = "supervisor";

/// 补贴申报: what a caseworker proposes, as evaluated against the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubsidyProposal {
    /// What will be granted on approval; `grant.subsidy_id` is the proposal id.
    pub grant: SubsidyGrant,
    /// The catalogue rule, e.g. `xiqing.hiring.local-hukou-stable-employment`.
    pub rule_id: String,
    /// The version applied: the first day of its period.
    pub rule_valid_from: Date,
    /// The proposer (staff id; the event's actor too).
    pub proposed_by: String,
    /// The checks that passed, each citing its clause.
    pub reasons: Vec<EligibilityReason>,
    /// The facts the proposer supplied that no case holds. Boxed: proposals
    /// ride in the command and fact enums, which stay small.
    pub inputs: Box<ProposalInputs>,
}

/// Facts from outside the cases (social insurance, market regulation, the
/// caseworker's own checks), supplied with a proposal and kept with it so the
/// approval is evaluated on the same footing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalInputs {
    /// The amount asked for; `None`: the most the rule allows.
    pub amount: Option<Fen>,
    /// The months asked for (periodic subsidies).
    pub period: Option<DateRange>,
    /// People, jobs, tenants… for per-unit amounts.
    pub units: Option<u32>,
    /// The base of a share-of-base amount (premiums paid, contributions).
    pub base: Option<Fen>,
    pub loan: Option<LoanInput>,
    /// For women: `worker` or `cadre` (sets the retirement age).
    pub post_type: Option<String>,
    /// Months of social insurance paid for the person (in the placement, or
    /// by the founder): person proposals only. Recorded as `insured_months`
    /// before the enterprise's months were named apart.
    #[serde(default, alias = "insured_months")]
    pub person_insured_months: Option<u32>,
    /// Months the enterprise has paid unemployment insurance (依法缴纳失业保险费
    /// 满12个月): enterprise proposals only.
    #[serde(default)]
    pub enterprise_insured_months: Option<u32>,
    /// The enterprise's new hires this year that meet the loan's conditions
    /// (当年新招用符合创业担保贷款申请条件的人数), when stated instead of
    /// counted from the recorded hires: enterprise proposals only.
    #[serde(default)]
    pub new_hires: Option<u32>,
    /// Of those, the hires with the district's hukou (新招用人员中西青户籍人员数量).
    #[serde(default)]
    pub new_hires_local_hukou: Option<u32>,
    /// The business the person founded.
    pub business: Option<BusinessInput>,
    /// Attested facts by their catalogue names, e.g. `social_insurance_paid`.
    pub attestations: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanInput {
    pub principal: Fen,
    pub months: u32,
    pub contract_date: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessInput {
    pub registered_on: Date,
    pub employees: u32,
    /// Where the business is registered (在本区创业), when stated.
    #[serde(default)]
    pub district: Option<DistrictCode>,
}

/// A review of a proposal: who reviews, and whether they hold the supervisor role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewer {
    /// Staff id (the event's actor too).
    pub user: String,
    /// Holds [`SUPERVISOR_ROLE`].
    pub supervisor: bool,
}

/// 审核通过: the proposal is approved; a `subsidy_granted` event follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubsidyApproval {
    pub proposal_id: String,
    pub approved_by: String,
}

/// 审核不通过: the proposal is rejected, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubsidyProposalRejection {
    pub proposal_id: String,
    pub rejected_by: String,
    /// 1..=500 characters, parsed at the edge.
    pub reason: String,
}

/// A proposal on a case and where its review stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalRecord {
    pub proposal: SubsidyProposal,
    pub proposed_on: Date,
    pub status: ProposalStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposalStatus {
    Pending,
    Approved { by: String, on: Date },
    Rejected { by: String, on: Date, reason: String },
}

impl ProposalRecord {
    pub fn id(&self) -> &str {
        &self.proposal.grant.subsidy_id
    }
}

/// Why a proposal or its review is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewRefusal {
    /// A new proposal's id is taken by a proposal or a grant of the case.
    IdTaken,
    /// No proposal with this id on the case.
    NotFound,
    /// Already approved or rejected.
    Decided(ProposalStatus),
    /// The reviewer made the proposal.
    SelfReview,
    /// The reviewer lacks the supervisor role.
    NotSupervisor,
    /// The review is dated before the proposal.
    BeforeProposal(Date),
}

impl ReviewRefusal {
    /// A text for people, without personal data.
    pub fn message(&self) -> String {
        match self {
            Self::IdTaken => "a subsidy or proposal with this id is already on the case".into(),
            Self::NotFound => "no subsidy proposal with this proposal_id on the case".into(),
            Self::Decided(ProposalStatus::Approved { on, .. }) => format!("the proposal was approved on {on}"),
            Self::Decided(ProposalStatus::Rejected { on, .. }) => format!("the proposal was rejected on {on}"),
            Self::Decided(ProposalStatus::Pending) => "the proposal is pending".into(),
            Self::SelfReview => "separation of duties: the proposer cannot review their own proposal".into(),
            Self::NotSupervisor => format!("only a user with the {SUPERVISOR_ROLE} role may review proposals"),
            Self::BeforeProposal(on) => format!("the effective date lies before the proposal ({on})"),
        }
    }
}

/// The pending proposal `proposal_id`, if `reviewer` may review it on `on`.
/// Checked in this order: exists, pending, not the proposer's own, reviewer
/// is a supervisor, not dated before the proposal.
pub fn review<'a>(
    proposals: &'a [ProposalRecord],
    proposal_id: &str,
    reviewer: &Reviewer,
    on: Date,
) -> Result<&'a ProposalRecord, ReviewRefusal> {
    let record = proposals.iter().find(|p| p.id() == proposal_id).ok_or(ReviewRefusal::NotFound)?;
    if record.status != ProposalStatus::Pending {
        return Err(ReviewRefusal::Decided(record.status.clone()));
    }
    if record.proposal.proposed_by == reviewer.user {
        return Err(ReviewRefusal::SelfReview);
    }
    if !reviewer.supervisor {
        return Err(ReviewRefusal::NotSupervisor);
    }
    if on < record.proposed_on {
        return Err(ReviewRefusal::BeforeProposal(record.proposed_on));
    }
    Ok(record)
}

/// Folds a review into the proposals.
pub fn apply_approval(proposals: &mut [ProposalRecord], a: &SubsidyApproval, on: Date) {
    if let Some(p) = proposals.iter_mut().find(|p| p.id() == a.proposal_id) {
        p.status = ProposalStatus::Approved { by: a.approved_by.clone(), on };
    }
}

/// Folds a rejection into the proposals.
pub fn apply_rejection(proposals: &mut [ProposalRecord], r: &SubsidyProposalRejection, on: Date) {
    if let Some(p) = proposals.iter_mut().find(|p| p.id() == r.proposal_id) {
        p.status = ProposalStatus::Rejected { by: r.rejected_by.clone(), on, reason: r.reason.clone() };
    }
}

// === commands ===

/// Approve a pending proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApproveProposal {
    pub proposal_id: String,
    pub reviewer: Reviewer,
}

/// Reject a pending proposal, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectProposal {
    pub proposal_id: String,
    pub reviewer: Reviewer,
    pub reason: String,
}

/// A new proposal on a case with these proposals and grants: proposals and
/// grants share one id space.
pub fn decide_proposal(
    proposals: &[ProposalRecord],
    subsidies: &[SubsidyRecord],
    p: SubsidyProposal,
) -> Result<SubsidyProposal, ReviewRefusal> {
    let id = p.grant.subsidy_id.as_str();
    if subsidies.iter().any(|s| s.grant.subsidy_id == id) || proposals.iter().any(|r| r.id() == id) {
        return Err(ReviewRefusal::IdTaken);
    }
    Ok(p)
}

/// What a review command produces on a case whose proposals are `proposals`:
/// the approval and the grant, or the rejection.
pub fn decide_approval(
    proposals: &[ProposalRecord],
    cmd: &ApproveProposal,
    on: Date,
) -> Result<(SubsidyApproval, SubsidyGrant), ReviewRefusal> {
    let record = review(proposals, &cmd.proposal_id, &cmd.reviewer, on)?;
    let approval = SubsidyApproval { proposal_id: cmd.proposal_id.clone(), approved_by: cmd.reviewer.user.clone() };
    Ok((approval, record.proposal.grant.clone()))
}

/// See [`decide_approval`].
pub fn decide_rejection(
    proposals: &[ProposalRecord],
    cmd: &RejectProposal,
    on: Date,
) -> Result<SubsidyProposalRejection, ReviewRefusal> {
    review(proposals, &cmd.proposal_id, &cmd.reviewer, on)?;
    Ok(SubsidyProposalRejection {
        proposal_id: cmd.proposal_id.clone(),
        rejected_by: cmd.reviewer.user.clone(),
        reason: cmd.reason.clone(),
    })
}
