//! Enterprise facts and case views, domain → protobuf (`leye.enterprise.v1`),
//! for gRPC replies and NATS payloads alike; and the enterprise enum tables.

use leye_domain::enterprise::{
    self as domain, EnterpriseCase, EnterpriseFact, EnterpriseFile, HireLinkState, LayoffResponse,
};
use leye_proto::enterprise::v1 as pb;

use super::{date_pb, grant_pb, subsidy_record_pb};
use crate::cases::CaseView;

enum_map!(enterprise_kind, enterprise_kind_pb, pb::EnterpriseKind, domain::EnterpriseKind, {
    TechStartUp => TechStartUp, GraduateStartUp => GraduateStartUp, ElderlyCare => ElderlyCare,
    EmployeeBasedDomesticService => EmployeeBasedDomesticService, HumanResourcesAgency => HumanResourcesAgency,
    VocationalSchool => VocationalSchool, Incubator => Incubator, Other => Other,
});

enum_map!(layoff_service, layoff_service_pb, pb::LayoffService, domain::LayoffService, {
    TrackingVisit => TrackingVisit, SkillsTraining => SkillsTraining, JobFair => JobFair,
});

enum_map!(welfare_post_kind, welfare_post_kind_pb, pb::WelfarePostKind, domain::WelfarePostKind, {
    PublicWelfare => PublicWelfare, CommunityService => CommunityService,
});

enum_map!(loan_borrower, loan_borrower_pb, pb::LoanBorrower, domain::LoanBorrower, {
    Enterprise => Enterprise, Founder => Founder,
});

fn welfare_posts_pb(w: &domain::WelfarePostsDevelopment) -> pb::WelfarePostsDeveloped {
    pb::WelfarePostsDeveloped {
        development_id: w.development_id.clone(),
        kind: welfare_post_kind_pb(w.kind),
        posts: w.posts.get(),
    }
}

fn guarantee_loan_pb(l: &domain::GuaranteeLoan) -> pb::GuaranteeLoanGranted {
    pb::GuaranteeLoanGranted {
        loan_id: l.loan_id.clone(),
        borrower: loan_borrower_pb(l.borrower),
        principal_fen: l.principal.get(),
        lender: l.lender.clone(),
        term_months: l.term_months,
    }
}

fn layoff_service_provided_pb(s: &domain::LayoffServiceProvision) -> pb::LayoffServiceProvided {
    pb::LayoffServiceProvided { layoff_id: s.layoff_id.clone(), service: layoff_service_pb(s.service) }
}

fn internship_offer_pb(o: &domain::InternshipOffer) -> pb::InternshipPostsOffered {
    pb::InternshipPostsOffered { offer_id: o.offer_id.clone(), posts: o.posts.get() }
}

fn layoff_response_pb(r: LayoffResponse) -> i32 {
    (match r {
        LayoffResponse::Monitor => pb::LayoffResponse::RecordOnly,
        LayoffResponse::WarningTrackingProactiveService => pb::LayoffResponse::WarningAndTracking,
        LayoffResponse::SkillsTrainingAndJobFairs => pb::LayoffResponse::TrainingAndJobFairs,
    }) as i32
}

fn registration_pb(r: &domain::EnterpriseRegistration) -> pb::EnterpriseRegistration {
    pb::EnterpriseRegistration {
        credit_code: r.credit_code.as_str().to_string(),
        name: r.name.as_str().to_string(),
        district: r.district.as_str().to_string(),
        industry_code: r.industry_code.clone(),
        insured_employees: r.insured_employees,
        small_micro: r.small_micro,
        kinds: r.kinds.iter().map(|k| enterprise_kind_pb(*k)).collect(),
        check_character_confirmed: !r.check_character_valid,
    }
}

fn hire_pb(h: &domain::Hire) -> pb::Hire {
    pb::Hire {
        hire_id: h.hire_id.clone(),
        person_case_id: h.person_case_id.to_string(),
        contract_months: h.contract_months.unwrap_or(0),
        started_on: date_pb(h.started_on),
    }
}

fn layoff_pb(l: &domain::BatchLayoff) -> pb::BatchLayoff {
    pb::BatchLayoff { layoff_id: l.layoff_id.clone(), people: l.people.get() }
}

fn plan_pb(p: &domain::LayoffPlan) -> pb::LayoffPlan {
    pb::LayoffPlan {
        plan_id: p.plan_id.clone(),
        people: p.people.get(),
        planned_layoff_on: date_pb(p.planned_layoff_on),
        notice_given_on: date_pb(p.notice_given_on),
    }
}

fn shortage_pb(s: &domain::LabourShortage) -> pb::LabourShortage {
    pb::LabourShortage { posts: s.posts.get(), skills: s.skills.clone() }
}

/// The one protobuf form of an enterprise fact (gRPC replay and NATS payload).
pub fn to_proto_enterprise_event(fact: &EnterpriseFact) -> pb::EnterpriseEvent {
    use pb::enterprise_event::Event as E;
    let mut layoff_response = 0;
    let event = match fact {
        EnterpriseFact::Registered(r) => E::Registered(registration_pb(r)),
        EnterpriseFact::HeadcountReported(h) => {
            E::HeadcountReported(pb::Headcount { month: date_pb(h.month), insured_employees: h.insured_employees })
        }
        EnterpriseFact::HireRecorded(h) => E::HireRecorded(hire_pb(h)),
        EnterpriseFact::BatchLayoffReported(l) => {
            layoff_response = layoff_response_pb(domain::layoff_response(l.people.get()));
            E::BatchLayoffReported(layoff_pb(l))
        }
        EnterpriseFact::LayoffServiceProvided(s) => E::LayoffServiceProvided(layoff_service_provided_pb(s)),
        EnterpriseFact::InternshipPostsOffered(o) => E::InternshipPostsOffered(internship_offer_pb(o)),
        EnterpriseFact::WelfarePostsDeveloped(w) => E::WelfarePostsDeveloped(welfare_posts_pb(w)),
        EnterpriseFact::GuaranteeLoanGranted(l) => E::GuaranteeLoanGranted(guarantee_loan_pb(l)),
        EnterpriseFact::LayoffPlanFiled(p) => E::LayoffPlanFiled(plan_pb(p)),
        EnterpriseFact::DesignatedKeyEnterprise => E::DesignatedKeyEnterprise(pb::KeyEnterpriseDesignation {}),
        EnterpriseFact::LabourShortageReported(s) => E::LabourShortageReported(shortage_pb(s)),
        EnterpriseFact::SubsidyProposed(p) => E::SubsidyProposed(super::subsidy::proposal_pb(p)),
        EnterpriseFact::SubsidyApproved(a) => E::SubsidyApproved(super::subsidy::approval_pb(a)),
        EnterpriseFact::SubsidyProposalRejected(r) => E::SubsidyProposalRejected(super::subsidy::rejection_pb(r)),
        EnterpriseFact::SubsidyGranted(g) => E::SubsidyGranted(grant_pb(g)),
        EnterpriseFact::SubsidyRevoked(r) => E::SubsidyRevoked(leye_proto::person::v1::SubsidyRevocation {
            subsidy_id: r.subsidy_id.clone(),
            reason: r.reason.clone(),
        }),
        EnterpriseFact::HireLinked(l) => E::HireLinked(pb::HireLinked {
            hire_id: l.hire_id.clone(),
            placement_event_id: l.placement_event_id.to_string(),
        }),
        EnterpriseFact::HireLinkRefused(r) => E::HireLinkRefused(pb::HireLinkRefused {
            hire_id: r.hire_id.clone(),
            reason_code: r.reason_code.clone(),
            reason: r.reason.clone(),
        }),
        EnterpriseFact::EligibilityFound(e) => E::EligibilityFound(crate::wire::eligibility_pb(e)),
    };
    pb::EnterpriseEvent { event: Some(event), layoff_response }
}

/// The state of an enterprise case as the API shows it.
pub fn to_proto_enterprise(view: &CaseView<EnterpriseCase>) -> pb::EnterpriseCase {
    let base = pb::EnterpriseCase {
        case_id: view.case_id.to_string(),
        revision: view.revision,
        reference_date: date_pb(view.reference_date),
        ..Default::default()
    };
    let Some(file) = view.case.file() else { return base };
    file_pb(file, view, base)
}

fn file_pb(file: &EnterpriseFile, view: &CaseView<EnterpriseCase>, base: pb::EnterpriseCase) -> pb::EnterpriseCase {
    pb::EnterpriseCase {
        registration: Some(registration_pb(&file.registration)),
        registered_on: date_pb(file.registered_on),
        insured_employees: file.insured_employees_on(view.reference_date).unwrap_or(0),
        designated_key_on: file.designated_key_on.map(date_pb).unwrap_or_default(),
        headcounts: file
            .headcounts
            .iter()
            .map(|(month, n)| pb::HeadcountRecord { month: date_pb(*month), insured_employees: *n })
            .collect(),
        hires: file
            .hires
            .iter()
            .map(|h| {
                let (link, refused_code, refused_reason) = match &h.link {
                    HireLinkState::Pending => (pb::HireLink::Pending, String::new(), String::new()),
                    HireLinkState::Linked { .. } => (pb::HireLink::Linked, String::new(), String::new()),
                    HireLinkState::Refused { reason_code, reason, .. } => {
                        (pb::HireLink::Refused, reason_code.clone(), reason.clone())
                    }
                };
                pb::HireRecord { hire: Some(hire_pb(&h.hire)), link: link as i32, refused_code, refused_reason }
            })
            .collect(),
        layoffs: file
            .layoffs
            .iter()
            .map(|l| pb::BatchLayoffRecord {
                layoff: Some(layoff_pb(&l.layoff)),
                reported_on: date_pb(l.reported_on),
                response: layoff_response_pb(l.response()),
                services: l
                    .services
                    .iter()
                    .map(|s| pb::LayoffServiceRecord {
                        service: layoff_service_pb(s.service),
                        provided_on: date_pb(s.provided_on),
                    })
                    .collect(),
            })
            .collect(),
        layoff_plans: file
            .layoff_plans
            .iter()
            .map(|p| pb::LayoffPlanRecord { plan: Some(plan_pb(&p.plan)), filed_on: date_pb(p.filed_on) })
            .collect(),
        shortages: file
            .shortages
            .iter()
            .map(|s| pb::LabourShortageRecord {
                shortage: Some(shortage_pb(&s.shortage)),
                reported_on: date_pb(s.reported_on),
            })
            .collect(),
        subsidies: file.subsidies.iter().map(subsidy_record_pb).collect(),
        proposals: file.proposals.iter().map(super::subsidy::proposal_record_pb).collect(),
        eligibilities: file.eligibilities.iter().map(crate::wire::eligibility_record_pb).collect(),
        check_character_valid: file.registration.check_character_valid,
        internship_offers: file
            .internship_offers
            .iter()
            .map(|o| pb::InternshipOfferRecord {
                offer: Some(internship_offer_pb(&o.offer)),
                offered_on: date_pb(o.offered_on),
            })
            .collect(),
        welfare_posts: file
            .welfare_posts
            .iter()
            .map(|(w, on)| pb::WelfarePostsRecord { posts: Some(welfare_posts_pb(w)), developed_on: date_pb(*on) })
            .collect(),
        guarantee_loans: file
            .guarantee_loans
            .iter()
            .map(|(l, on)| pb::GuaranteeLoanRecord { loan: Some(guarantee_loan_pb(l)), granted_on: date_pb(*on) })
            .collect(),
        ..base
    }
}
