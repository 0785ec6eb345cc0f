//! The subsidy RPCs both case services share: parse, hand to [`Subsidies`],
//! answer with the command result and the policy decision.
//!
//! Refusals of `ProposeSubsidy` (and `ApproveSubsidy`): an unknown rule id is
//! `INVALID_ARGUMENT` (reason `UNKNOWN_RULE`, field `rule_id`); a rule of
//! another district, or a city rule the district's own rule replaces there,
//! `NOT_FOUND` (reason `RULE_NOT_IN_DISTRICT`); any other refusal
//! `FAILED_PRECONDITION` (reason `POLICY_REFUSED`) carrying the whole decision.
//! `EvaluateSubsidy` is a dry run and answers with the decision in every case.

use std::collections::BTreeSet;

use leye_auth::Role;
use leye_domain::{
    Date,
    person::Payee,
    subsidy::{BusinessInput, LoanInput, ProposalInputs, RejectProposal, Reviewer},
    values::{CreditCode, DateRange, DistrictCode, Fen, code, input_text, parse_date},
};
use leye_proto::{
    common::v1::{CommandContext, CommandResult},
    enterprise::v1 as enterprise_pb,
    person::v1 as pb,
};
use leye_store::EventStore;
use tonic::Status;
use uuid::Uuid;

use super::{
    person::{check_context, parse_uuid},
    status::{Fields, approval_status, subsidy_status, to_status},
};
use crate::{
    access::{Access, Gate},
    subsidies::{CaseRef, ProposalRequest, Subsidies},
    wire::{command_result, subsidy::decision_pb},
};

/// How a service names its cases.
pub(super) type Kind = fn(Uuid) -> CaseRef;

/// The fields of a proposal, as the person and enterprise services'
/// `ProposeSubsidyRequest` and `EvaluateSubsidyRequest` each carry them.
#[derive(Clone, Copy)]
pub(super) struct Proposal<'a> {
    case_id: &'a str,
    effective_date: &'a str,
    proposal_id: &'a str,
    rule_id: &'a str,
    payee: Option<&'a pb::Payee>,
    inputs: Option<&'a pb::ProposalInputs>,
}

/// The fields of a review: `ApproveSubsidyRequest` (no reason) and
/// `RejectSubsidyProposalRequest` of either service.
#[derive(Clone, Copy)]
pub(super) struct Review<'a> {
    case_id: &'a str,
    effective_date: &'a str,
    proposal_id: &'a str,
    reason: &'a str,
}

macro_rules! proposal_of {
    ($($request:ty),*) => {$(
        impl<'a> From<&'a $request> for Proposal<'a> {
            fn from(r: &'a $request) -> Self {
                Proposal {
                    case_id: &r.case_id,
                    effective_date: &r.effective_date,
                    proposal_id: &r.proposal_id,
                    rule_id: &r.rule_id,
                    payee: r.payee.as_ref(),
                    inputs: r.inputs.as_ref(),
                }
            }
        }
    )*};
}
proposal_of!(
    pb::ProposeSubsidyRequest,
    pb::EvaluateSubsidyRequest,
    enterprise_pb::ProposeSubsidyRequest,
    enterprise_pb::EvaluateSubsidyRequest
);

macro_rules! review_of {
    ($($request:ty => |$r:ident| $reason:expr),*) => {$(
        impl<'a> From<&'a $request> for Review<'a> {
            fn from($r: &'a $request) -> Self {
                Review { case_id: &$r.case_id, effective_date: &$r.effective_date, proposal_id: &$r.proposal_id, reason: $reason }
            }
        }
    )*};
}
review_of!(
    pb::ApproveSubsidyRequest => |r| "",
    enterprise_pb::ApproveSubsidyRequest => |r| "",
    pb::RejectSubsidyProposalRequest => |r| &r.reason,
    enterprise_pb::RejectSubsidyProposalRequest => |r| &r.reason
);

/// What a proposal or an approval wrote, and the decision it rests on (none
/// for a repeated command, which decided nothing new).
pub(super) type Decided = (CommandResult, Option<pb::PolicyDecision>);

pub(super) async fn propose<S: EventStore>(
    subsidies: &Subsidies<S>,
    kind: Kind,
    gate: Gate,
    context: Option<&CommandContext>,
    r: Proposal<'_>,
) -> Result<Decided, Status> {
    let mut f = Fields::new();
    let meta = check_context(&mut f, context, &gate)?;
    let (case, on, request) = check_proposal(&mut f, r);
    check_fit(&mut f, case.map(kind), request.as_ref());
    let (Some(meta), Some(case), Some(on), Some(request), true) = (meta, case, on, request, f.is_empty()) else {
        return Err(f.into_status());
    };
    let (outcome, decision) = subsidies.propose(kind(case), meta, on, request).await.map_err(subsidy_status)?;
    Ok((command_result(&outcome), Some(decision_pb(&decision)).filter(|_| !outcome.duplicate)))
}

pub(super) async fn evaluate<S: EventStore>(
    subsidies: &Subsidies<S>,
    kind: Kind,
    gate: Gate,
    r: Proposal<'_>,
) -> Result<pb::PolicyDecision, Status> {
    let mut f = Fields::new();
    let (case, on, request) = check_proposal(&mut f, r);
    check_fit(&mut f, case.map(kind), request.as_ref());
    let (Some(case), Some(on), Some(request), true) = (case, on, request, f.is_empty()) else {
        return Err(f.into_status());
    };
    // A dry run answers with the decision, whatever it is: an unknown rule or
    // one of another district is a refused decision saying so (ProposeSubsidy
    // turns those into INVALID_ARGUMENT / NOT_FOUND).
    let decision = subsidies.evaluate(kind(case), on, &request, &Access::Caller(gate)).await.map_err(subsidy_status)?;
    Ok(decision_pb(&decision))
}

pub(super) async fn approve<S: EventStore>(
    subsidies: &Subsidies<S>,
    kind: Kind,
    gate: Gate,
    context: Option<&CommandContext>,
    r: Review<'_>,
) -> Result<Decided, Status> {
    let mut f = Fields::new();
    let meta = check_context(&mut f, context, &gate)?;
    let case = f.take("case_id", parse_uuid(r.case_id));
    let on = f.take("effective_date", parse_date(r.effective_date));
    let proposal_id = f.take("proposal_id", code(r.proposal_id));
    let (Some(meta), Some(case), Some(on), Some(proposal_id), true) = (meta, case, on, proposal_id, f.is_empty())
    else {
        return Err(f.into_status());
    };
    let reviewer = reviewer(&gate);
    let (outcome, decision) =
        subsidies.approve(kind(case), meta, on, proposal_id, reviewer).await.map_err(approval_status)?;
    Ok((command_result(&outcome), Some(decision_pb(&decision)).filter(|_| !outcome.duplicate)))
}

pub(super) async fn reject<S: EventStore>(
    subsidies: &Subsidies<S>,
    kind: Kind,
    gate: Gate,
    context: Option<&CommandContext>,
    r: Review<'_>,
) -> Result<CommandResult, Status> {
    let mut f = Fields::new();
    let meta = check_context(&mut f, context, &gate)?;
    let case = f.take("case_id", parse_uuid(r.case_id));
    let on = f.take("effective_date", parse_date(r.effective_date));
    let proposal_id = f.take("proposal_id", code(r.proposal_id));
    let reason = f.take("reason", input_text(r.reason, 1, 500));
    let (Some(meta), Some(case), Some(on), Some(proposal_id), Some(reason), true) =
        (meta, case, on, proposal_id, reason, f.is_empty())
    else {
        return Err(f.into_status());
    };
    let reviewer = reviewer(&gate);
    let command = RejectProposal { proposal_id, reviewer, reason };
    let outcome = subsidies.reject(kind(case), meta, on, command).await.map_err(to_status)?;
    Ok(command_result(&outcome))
}

/// Inputs that name the other kind of case are refused, so that the
/// person's and the enterprise's months cannot be confused.
fn check_fit(f: &mut Fields, case: Option<CaseRef>, request: Option<&ProposalRequest>) {
    let (Some(case), Some(r)) = (case, request) else { return };
    let i = &r.inputs;
    match case {
        CaseRef::Person(_) => {
            for (field, given) in [
                ("inputs.enterprise_insured_months", i.enterprise_insured_months.is_some()),
                ("inputs.new_hires", i.new_hires.is_some()),
                ("inputs.new_hires_local_hukou", i.new_hires_local_hukou.is_some()),
            ] {
                if given {
                    f.bad(field, "applies to enterprise proposals only");
                }
            }
        }
        CaseRef::Enterprise(_) => {
            if i.person_insured_months.is_some() {
                f.bad(
                    "inputs.person_insured_months",
                    "applies to person proposals only: the enterprise's months are inputs.enterprise_insured_months",
                );
            }
        }
    }
}

/// The reviewer: the authenticated principal (its canonical id, so that case
/// variants of one staff id are one person) and whether it holds the
/// supervisor role.
fn reviewer(gate: &Gate) -> Reviewer {
    let p = gate.principal();
    Reviewer { user: p.id.to_string(), supervisor: p.has_role(Role::Supervisor) }
}

fn check_proposal(f: &mut Fields, r: Proposal<'_>) -> (Option<Uuid>, Option<Date>, Option<ProposalRequest>) {
    let case = f.take("case_id", parse_uuid(r.case_id));
    let on = f.take("effective_date", parse_date(r.effective_date));
    let proposal_id = f.take("proposal_id", code(r.proposal_id));
    let rule_id = f.take("rule_id", rule_id(r.rule_id));
    let payee = check_payee(f, r.payee);
    let inputs = check_inputs(f, r.inputs);
    let request = match (proposal_id, rule_id, payee, inputs) {
        (Some(proposal_id), Some(rule_id), Some(payee), Some(inputs)) => {
            Some(ProposalRequest { proposal_id, rule_id, payee, inputs })
        }
        _ => None,
    };
    (case, on, request)
}

/// Catalogue rule ids: `[a-z0-9.-]`, 1 to 128 characters.
fn rule_id(raw: &str) -> Result<String, &'static str> {
    let s = raw.trim();
    let ok = (1..=128).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok { Ok(s.to_string()) } else { Err("must be a catalogue rule id: 1 to 128 of a-z 0-9 . -") }
}

pub(super) fn check_payee(f: &mut Fields, payee: Option<&pb::Payee>) -> Option<Payee> {
    use pb::payee::Payee as P;
    match payee.and_then(|p| p.payee.as_ref()) {
        None | Some(P::Person(false)) => {
            f.bad("payee", "is required: the person, an enterprise or a training provider");
            None
        }
        Some(P::Person(true)) => Some(Payee::Person),
        Some(P::EnterpriseCreditCode(c)) => {
            // The form only: an early code registered after confirmation may be paid.
            f.take("payee.enterprise_credit_code", CreditCode::parse_format(c)).map(Payee::Enterprise)
        }
        Some(P::TrainingProvider(p)) => {
            f.take("payee.training_provider", input_text(p, 1, 100)).map(Payee::TrainingProvider)
        }
    }
}

fn check_inputs(f: &mut Fields, inputs: Option<&pb::ProposalInputs>) -> Option<ProposalInputs> {
    let Some(i) = inputs else { return Some(ProposalInputs::default()) };
    let positive = |f: &mut Fields, field: &str, v: i64| match v {
        0 => Some(None),
        v => f.take(field, Fen::positive(v)).map(Some),
    };
    let amount = positive(f, "inputs.amount_fen", i.amount_fen);
    let base = positive(f, "inputs.base_fen", i.base_fen);
    let period = match (i.period_from.trim().is_empty(), i.period_to.trim().is_empty()) {
        (true, true) => Some(None),
        (false, false) => {
            let from = f.take("inputs.period_from", parse_date(&i.period_from));
            let to = f.take("inputs.period_to", parse_date(&i.period_to));
            match (from, to) {
                (Some(from), Some(to)) => f.take("inputs.period_to", DateRange::new(from, to)).map(Some),
                _ => None,
            }
        }
        _ => {
            f.bad("inputs.period_to", "period_from and period_to are given together or not at all");
            None
        }
    };
    let loan = match &i.loan {
        None => Some(None),
        Some(l) => {
            let principal = f.take("inputs.loan.principal_fen", Fen::positive(l.principal_fen));
            let contract_date = f.take("inputs.loan.contract_date", parse_date(&l.contract_date));
            if l.months == 0 {
                f.bad("inputs.loan.months", "must be at least 1");
            }
            match (principal, contract_date, l.months) {
                (Some(principal), Some(contract_date), months @ 1..) => {
                    Some(Some(LoanInput { principal, months, contract_date }))
                }
                _ => None,
            }
        }
    };
    let post_type = match i.post_type.trim() {
        "" => Some(None),
        p @ ("worker" | "cadre") => Some(Some(p.to_string())),
        _ => {
            f.bad("inputs.post_type", "must be \"worker\" or \"cadre\" when given");
            None
        }
    };
    let business = match &i.business {
        None => Some(None),
        Some(b) => {
            let registered_on = f.take("inputs.business.registered_on", parse_date(&b.registered_on));
            let district = match b.district.trim() {
                "" => Some(None),
                d => f.take("inputs.business.district", DistrictCode::parse(d)).map(Some),
            };
            match (registered_on, district) {
                (Some(registered_on), Some(district)) => {
                    Some(Some(BusinessInput { registered_on, employees: b.employees, district }))
                }
                _ => None,
            }
        }
    };
    if let (Some(all), Some(local)) = (i.new_hires, i.new_hires_local_hukou)
        && local > all
    {
        f.bad("inputs.new_hires_local_hukou", "cannot exceed inputs.new_hires");
    }
    let mut attestations = BTreeSet::new();
    for (n, a) in i.attestations.iter().enumerate() {
        let name = a.trim();
        if crate::subsidies::named::<leye_policy::Attestation>(name, "attestations").is_ok() {
            attestations.insert(name.to_string());
        } else {
            f.bad(format!("inputs.attestations[{n}]"), "unknown attestation: see policies/README.md");
        }
    }
    Some(ProposalInputs {
        amount: amount?,
        period: period?,
        units: Some(i.units).filter(|u| *u > 0),
        base: base?,
        loan: loan?,
        post_type: post_type?,
        person_insured_months: i.person_insured_months,
        enterprise_insured_months: i.enterprise_insured_months,
        new_hires: i.new_hires,
        new_hires_local_hukou: i.new_hires_local_hukou,
        business: business?,
        attestations,
    })
}
