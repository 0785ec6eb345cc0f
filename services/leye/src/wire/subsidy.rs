//! Subsidy proposals, their review and policy decisions, domain → protobuf;
//! shared by the person and the enterprise service and their events.

use leye_domain::subsidy::{
    ProposalInputs, ProposalRecord, ProposalStatus, SubsidyApproval, SubsidyProposal, SubsidyProposalRejection,
};
use leye_policy::{Decision, Outcome};
use leye_proto::person::v1 as pb;

use super::{date_pb, grant_pb, reason_pb};

pub(crate) fn proposal_pb(p: &SubsidyProposal) -> pb::SubsidyProposal {
    pb::SubsidyProposal {
        grant: Some(grant_pb(&p.grant)),
        rule_id: p.rule_id.clone(),
        rule_valid_from: date_pb(p.rule_valid_from),
        proposed_by: p.proposed_by.clone(),
        reasons: p.reasons.iter().map(reason_pb).collect(),
        inputs: Some(inputs_pb(&p.inputs)),
    }
}

fn inputs_pb(i: &ProposalInputs) -> pb::ProposalInputs {
    pb::ProposalInputs {
        amount_fen: i.amount.map_or(0, |a| a.get()),
        period_from: i.period.map(|p| date_pb(p.from)).unwrap_or_default(),
        period_to: i.period.map(|p| date_pb(p.to)).unwrap_or_default(),
        units: i.units.unwrap_or(0),
        base_fen: i.base.map_or(0, |b| b.get()),
        loan: i.loan.as_ref().map(|l| pb::LoanInput {
            principal_fen: l.principal.get(),
            months: l.months,
            contract_date: date_pb(l.contract_date),
        }),
        post_type: i.post_type.clone().unwrap_or_default(),
        person_insured_months: i.person_insured_months,
        business: i.business.as_ref().map(|b| pb::BusinessInput {
            registered_on: date_pb(b.registered_on),
            employees: b.employees,
            district: b.district.as_ref().map(|d| d.as_str().to_string()).unwrap_or_default(),
        }),
        attestations: i.attestations.iter().cloned().collect(),
        enterprise_insured_months: i.enterprise_insured_months,
        new_hires: i.new_hires,
        new_hires_local_hukou: i.new_hires_local_hukou,
    }
}

pub(crate) fn approval_pb(a: &SubsidyApproval) -> pb::SubsidyApproval {
    pb::SubsidyApproval { proposal_id: a.proposal_id.clone(), approved_by: a.approved_by.clone() }
}

pub(crate) fn rejection_pb(r: &SubsidyProposalRejection) -> pb::SubsidyProposalRejection {
    pb::SubsidyProposalRejection {
        proposal_id: r.proposal_id.clone(),
        rejected_by: r.rejected_by.clone(),
        reason: r.reason.clone(),
    }
}

pub(crate) fn proposal_record_pb(r: &ProposalRecord) -> pb::ProposalRecord {
    let (status, reviewed_by, reviewed_on, rejection_reason) = match &r.status {
        ProposalStatus::Pending => (pb::ProposalStatus::Pending, String::new(), String::new(), String::new()),
        ProposalStatus::Approved { by, on } => (pb::ProposalStatus::Approved, by.clone(), date_pb(*on), String::new()),
        ProposalStatus::Rejected { by, on, reason } => {
            (pb::ProposalStatus::Rejected, by.clone(), date_pb(*on), reason.clone())
        }
    };
    pb::ProposalRecord {
        proposal: Some(proposal_pb(&r.proposal)),
        proposed_on: date_pb(r.proposed_on),
        status: status as i32,
        reviewed_by,
        reviewed_on,
        rejection_reason,
    }
}

/// A policy decision as the API shows it.
pub fn decision_pb(d: &Decision) -> pb::PolicyDecision {
    let (granted, amount_fen, period_from, period_to) = match &d.outcome {
        Outcome::Granted { amount, period } => {
            (true, amount.map_or(0, |a| a.get()), date_pb(period.from), date_pb(period.to))
        }
        Outcome::Refused => (false, 0, String::new(), String::new()),
    };
    let rule = d.rule.as_ref();
    pb::PolicyDecision {
        rule_id: d.rule_id.clone(),
        rule_title: rule.map(|r| r.title.clone()).unwrap_or_default(),
        programme: rule.map(|r| r.programme.clone()).unwrap_or_default(),
        source: rule.map(|r| r.source.clone()).unwrap_or_default(),
        rule_valid_from: rule.map(|r| date_pb(r.valid_from)).unwrap_or_default(),
        rule_valid_to: rule.and_then(|r| r.valid_to).map(date_pb).unwrap_or_default(),
        granted,
        amount_fen,
        period_from,
        period_to,
        max_amount_fen: d.max_amount.map_or(0, |a| a.get()),
        checks: d
            .checks
            .iter()
            .map(|c| pb::PolicyCheck {
                check: c.check.clone(),
                passed: c.passed,
                detail: c.detail.clone(),
                clause: c.clause.clone(),
            })
            .collect(),
    }
}

/// Statutory retirement as the case view shows it (one entry for a man, one
/// per post type for a woman), judged on `reference_date`.
pub fn retirement_pb(
    catalogue: &leye_policy::Catalogue,
    birth: leye_domain::Date,
    gender: leye_domain::values::Gender,
    reference_date: leye_domain::Date,
) -> Vec<pb::RetirementOutlook> {
    use leye_domain::values::Gender;
    use leye_policy::PostType;
    let posts: &[(PostType, &str)] = match gender {
        Gender::Male => &[(PostType::Worker, "")],
        Gender::Female => &[(PostType::Worker, "worker"), (PostType::Cadre, "cadre")],
    };
    posts
        .iter()
        .map(|(post, name)| {
            let (age, date) = catalogue.retirement(birth, gender, *post);
            pb::RetirementOutlook {
                post_type: name.to_string(),
                age_years: age.years,
                age_months: age.months,
                retirement_date: date_pb(date),
                within_5_years: leye_policy::within_years_of_retirement(date, 5, reference_date),
                within_1_year: leye_policy::less_than_one_year_to_retirement(date, reference_date),
            }
        })
        .collect()
}
