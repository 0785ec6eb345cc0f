//! The enterprise-case gRPC adapter: parse the request into domain types, hand
//! it to [`EnterpriseCases`], map the result back with
//! [`crate::wire::enterprise`]. Only this module knows the enterprise protobuf
//! request types.

use std::{collections::BTreeSet, num::NonZeroU32};

use leye_domain::{
    Date,
    enterprise::{self as domain, DatedEnterpriseCommand, EnterpriseCommand, EnterpriseName, EnterpriseRegistration},
    values::{CreditCode, DistrictCode, code, input, input_text, parse_date},
};
use leye_proto::{
    common::v1::CommandContext,
    enterprise::v1::{self as pb, enterprise_case_service_server::EnterpriseCaseService},
};
use leye_store::EventStore;
use tonic::{Request, Response, Status};

use super::{
    guard::gated,
    person::{check_context, check_enum, parse_uuid, required, timestamp},
    reply::CommandReply,
    status::{Fields, to_status},
    subsidy,
};
use crate::{
    access::{Access, Gate},
    cases::{AppError, AsOf, CaseView, CommandMeta, EnterpriseCases, PersonCases, Target},
    subsidies::{CaseRef, Subsidies},
    wire::{
        enterprise::{
            enterprise_kind, layoff_service, loan_borrower, to_proto_enterprise, to_proto_enterprise_event,
            welfare_post_kind,
        },
        to_proto_metadata,
    },
};

/// The gRPC face of [`EnterpriseCases`].
#[derive(Debug, Clone)]
pub struct EnterpriseApi<S> {
    cases: EnterpriseCases<S>,
    /// To check that a hire names an existing person case.
    people: PersonCases<S>,
    subsidies: Subsidies<S>,
}

impl<S: EventStore> EnterpriseApi<S> {
    pub fn new(people: PersonCases<S>, subsidies: Subsidies<S>) -> Self {
        Self { cases: people.of_kind(), people, subsidies }
    }
}

impl<S: EventStore> EnterpriseApi<S> {
    /// Runs a command on an existing case after parsing its common fields.
    async fn on_case<R: CommandReply>(
        &self,
        gate: &Gate,
        context: Option<&CommandContext>,
        case_id: &str,
        effective_date: &str,
        fact: impl FnOnce(&mut Fields, Option<Date>) -> Option<EnterpriseCommand>,
    ) -> Result<Response<R>, Status> {
        let mut f = Fields::new();
        let meta = check_context(&mut f, context, gate)?;
        let case_id = f.take("case_id", parse_uuid(case_id));
        let date = f.take("effective_date", parse_date(effective_date));
        let command = fact(&mut f, date);
        let (Some(meta), Some(case_id), Some(date), Some(command), true) = (meta, case_id, date, command, f.is_empty())
        else {
            return Err(f.into_status());
        };
        self.run(Target::Case(case_id), meta, date, command).await
    }

    async fn run<R: CommandReply>(
        &self,
        target: Target,
        meta: CommandMeta,
        effective_date: Date,
        command: EnterpriseCommand,
    ) -> Result<Response<R>, Status> {
        let outcome = self
            .cases
            .execute(target, meta, DatedEnterpriseCommand { effective_date, command })
            .await
            .map_err(to_status)?;
        Ok(Response::new(R::of(crate::wire::command_result(&outcome))))
    }
}

#[tonic::async_trait]
impl<S: EventStore> EnterpriseCaseService for EnterpriseApi<S> {
    async fn register_enterprise(
        &self,
        request: Request<pb::RegisterEnterpriseRequest>,
    ) -> Result<Response<pb::RegisterEnterpriseResponse>, Status> {
        let (gate, req) = gated(request)?;
        let mut f = Fields::new();
        let meta = check_context(&mut f, req.context.as_ref(), &gate)?;
        let date = f.take("effective_date", parse_date(&req.effective_date));
        let reg = check_registration(&mut f, req.registration.as_ref());
        let (Some(meta), Some(date), Some(reg), true) = (meta, date, reg, f.is_empty()) else {
            return Err(f.into_status());
        };
        self.run(Target::Enterprise(reg.credit_code.clone()), meta, date, EnterpriseCommand::Register(reg)).await
    }

    async fn report_headcount(
        &self,
        request: Request<pb::ReportHeadcountRequest>,
    ) -> Result<Response<pb::ReportHeadcountResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let h = required(f, "headcount", r.headcount.as_ref())?;
            let month = f.take("headcount.month", parse_date(&h.month))?;
            Some(EnterpriseCommand::ReportHeadcount(domain::Headcount {
                month,
                insured_employees: h.insured_employees,
            }))
        })
        .await
    }

    async fn record_hire(
        &self,
        request: Request<pb::RecordHireRequest>,
    ) -> Result<Response<pb::RecordHireResponse>, Status> {
        let (gate, r) = gated(request)?;
        let person = r.hire.as_ref().and_then(|h| parse_uuid(&h.person_case_id).ok());
        // A hire must name a person case that exists AND that the caller may
        // act on: the linker records the placement on it, so a hire is a
        // write to the person's case. A caseworker of another district would
        // otherwise close a spell they may not touch (deny by default; a
        // cross-district hire is recorded by a principal covering both
        // places). Either refusal reads the same, so that a hire does not
        // tell whether a case exists elsewhere; the audit record keeps the
        // denial. (The linker still handles a case that changes in between:
        // see crate::linker.)
        let access = Access::Caller(gate.clone());
        let person_reachable = match person {
            Some(id) => match self.people.find(&Target::Case(id), &access).await {
                Ok(_) => true,
                Err(AppError::NotFound) => false,
                Err(AppError::Denied(_)) => {
                    // A caller outside the enterprise's case is refused for
                    // that first, as for any other command on it.
                    if let Ok(enterprise) = parse_uuid(&r.case_id) {
                        self.cases.find(&Target::Case(enterprise), &access).await.map_err(to_status)?;
                    }
                    false
                }
                Err(e) => return Err(to_status(e)),
            },
            None => true,
        };
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, on| {
            let h = required(f, "hire", r.hire.as_ref())?;
            let hire_id = f.take("hire.hire_id", code(&h.hire_id));
            let person_case_id = f.take("hire.person_case_id", parse_uuid(&h.person_case_id));
            if !person_reachable {
                f.bad(
                    "hire.person_case_id",
                    "no person case with this id in your jurisdiction: register the person first, or have a \
                     principal covering the person's place record the hire",
                );
            }
            let contract_months = match h.contract_months {
                0 => Some(None),
                m @ 1..=600 => Some(Some(m)),
                _ => {
                    f.bad("hire.contract_months", "must be 1 to 600, or 0 for no fixed term");
                    None
                }
            };
            let started_on = f.take("hire.started_on", parse_date(&h.started_on));
            if let (Some(start), Some(on)) = (started_on, on) {
                if start > on {
                    f.bad("hire.started_on", "must be on or before the effective date");
                }
            }
            Some(EnterpriseCommand::RecordHire(domain::Hire {
                hire_id: hire_id?,
                person_case_id: person_case_id?,
                contract_months: contract_months?,
                started_on: started_on?,
            }))
        })
        .await
    }

    async fn report_batch_layoff(
        &self,
        request: Request<pb::ReportBatchLayoffRequest>,
    ) -> Result<Response<pb::ReportBatchLayoffResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let l = required(f, "layoff", r.layoff.as_ref())?;
            let layoff_id = f.take("layoff.layoff_id", code(&l.layoff_id));
            let people = f.take("layoff.people", at_least_one(l.people));
            Some(EnterpriseCommand::ReportBatchLayoff(domain::BatchLayoff { layoff_id: layoff_id?, people: people? }))
        })
        .await
    }

    async fn record_layoff_service(
        &self,
        request: Request<pb::RecordLayoffServiceRequest>,
    ) -> Result<Response<pb::RecordLayoffServiceResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let s = required(f, "service", r.service.as_ref())?;
            let layoff_id = f.take("service.layoff_id", code(&s.layoff_id));
            let service = check_enum(f, "service.service", s.service, layoff_service);
            Some(EnterpriseCommand::RecordLayoffService(domain::LayoffServiceProvision {
                layoff_id: layoff_id?,
                service: service?,
            }))
        })
        .await
    }

    async fn offer_internship_posts(
        &self,
        request: Request<pb::OfferInternshipPostsRequest>,
    ) -> Result<Response<pb::OfferInternshipPostsResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let o = required(f, "offer", r.offer.as_ref())?;
            let offer_id = f.take("offer.offer_id", code(&o.offer_id));
            let posts = f.take("offer.posts", at_least_one(o.posts));
            Some(EnterpriseCommand::OfferInternshipPosts(domain::InternshipOffer {
                offer_id: offer_id?,
                posts: posts?,
            }))
        })
        .await
    }

    async fn develop_welfare_posts(
        &self,
        request: Request<pb::DevelopWelfarePostsRequest>,
    ) -> Result<Response<pb::DevelopWelfarePostsResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let p = required(f, "posts", r.posts.as_ref())?;
            let development_id = f.take("posts.development_id", code(&p.development_id));
            let kind = check_enum(f, "posts.kind", p.kind, welfare_post_kind);
            let posts = f.take("posts.posts", at_least_one(p.posts));
            Some(EnterpriseCommand::DevelopWelfarePosts(domain::WelfarePostsDevelopment {
                development_id: development_id?,
                kind: kind?,
                posts: posts?,
            }))
        })
        .await
    }

    async fn record_guarantee_loan(
        &self,
        request: Request<pb::RecordGuaranteeLoanRequest>,
    ) -> Result<Response<pb::RecordGuaranteeLoanResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let l = required(f, "loan", r.loan.as_ref())?;
            let loan_id = f.take("loan.loan_id", code(&l.loan_id));
            let borrower = check_enum(f, "loan.borrower", l.borrower, loan_borrower);
            let principal = f.take("loan.principal_fen", domain::loan_principal(l.principal_fen));
            let lender = f.take("loan.lender", input_text(&l.lender, 1, 100));
            Some(EnterpriseCommand::RecordGuaranteeLoan(domain::GuaranteeLoan {
                loan_id: loan_id?,
                borrower: borrower?,
                principal: principal?,
                lender: lender?,
                // The decider checks the range, naming loan.term_months.
                term_months: l.term_months,
            }))
        })
        .await
    }

    async fn file_layoff_plan(
        &self,
        request: Request<pb::FileLayoffPlanRequest>,
    ) -> Result<Response<pb::FileLayoffPlanResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let p = required(f, "plan", r.plan.as_ref())?;
            let plan_id = f.take("plan.plan_id", code(&p.plan_id));
            let people = f.take("plan.people", at_least_one(p.people));
            let planned = f.take("plan.planned_layoff_on", parse_date(&p.planned_layoff_on));
            let notice = f.take("plan.notice_given_on", parse_date(&p.notice_given_on));
            Some(EnterpriseCommand::FileLayoffPlan(domain::LayoffPlan {
                plan_id: plan_id?,
                people: people?,
                planned_layoff_on: planned?,
                notice_given_on: notice?,
            }))
        })
        .await
    }

    async fn designate_key_enterprise(
        &self,
        request: Request<pb::DesignateKeyEnterpriseRequest>,
    ) -> Result<Response<pb::DesignateKeyEnterpriseResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |_, _| {
            Some(EnterpriseCommand::DesignateKeyEnterprise)
        })
        .await
    }

    async fn report_labour_shortage(
        &self,
        request: Request<pb::ReportLabourShortageRequest>,
    ) -> Result<Response<pb::ReportLabourShortageResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let s = required(f, "shortage", r.shortage.as_ref())?;
            let posts = f.take("shortage.posts", at_least_one(s.posts));
            let skills = f.take("shortage.skills", input_text(&s.skills, 1, 500));
            Some(EnterpriseCommand::ReportLabourShortage(domain::LabourShortage { posts: posts?, skills: skills? }))
        })
        .await
    }

    async fn propose_subsidy(
        &self,
        request: Request<pb::ProposeSubsidyRequest>,
    ) -> Result<Response<pb::ProposeSubsidyResponse>, Status> {
        let (gate, r) = gated(request)?;
        let (result, decision) =
            subsidy::propose(&self.subsidies, CaseRef::Enterprise, gate, r.context.as_ref(), (&r).into()).await?;
        Ok(Response::new(pb::ProposeSubsidyResponse { result: Some(result), decision }))
    }

    async fn evaluate_subsidy(
        &self,
        request: Request<pb::EvaluateSubsidyRequest>,
    ) -> Result<Response<pb::EvaluateSubsidyResponse>, Status> {
        let (gate, r) = gated(request)?;
        let decision = subsidy::evaluate(&self.subsidies, CaseRef::Enterprise, gate, (&r).into()).await?;
        Ok(Response::new(pb::EvaluateSubsidyResponse { decision: Some(decision) }))
    }

    async fn approve_subsidy(
        &self,
        request: Request<pb::ApproveSubsidyRequest>,
    ) -> Result<Response<pb::ApproveSubsidyResponse>, Status> {
        let (gate, r) = gated(request)?;
        let (result, decision) =
            subsidy::approve(&self.subsidies, CaseRef::Enterprise, gate, r.context.as_ref(), (&r).into()).await?;
        Ok(Response::new(pb::ApproveSubsidyResponse { result: Some(result), decision }))
    }

    async fn reject_subsidy_proposal(
        &self,
        request: Request<pb::RejectSubsidyProposalRequest>,
    ) -> Result<Response<pb::RejectSubsidyProposalResponse>, Status> {
        let (gate, r) = gated(request)?;
        let result =
            subsidy::reject(&self.subsidies, CaseRef::Enterprise, gate, r.context.as_ref(), (&r).into()).await?;
        Ok(Response::new(pb::RejectSubsidyProposalResponse::of(result)))
    }

    async fn revoke_subsidy(
        &self,
        request: Request<pb::RevokeSubsidyRequest>,
    ) -> Result<Response<pb::RevokeSubsidyResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let v = required(f, "revocation", r.revocation.as_ref())?;
            let subsidy_id = f.take("revocation.subsidy_id", code(&v.subsidy_id));
            let reason = f.take("revocation.reason", input_text(&v.reason, 1, 200));
            Some(EnterpriseCommand::RevokeSubsidy(leye_domain::person::SubsidyRevocation {
                subsidy_id: subsidy_id?,
                reason: reason?,
            }))
        })
        .await
    }

    async fn get_enterprise(
        &self,
        request: Request<pb::GetEnterpriseRequest>,
    ) -> Result<Response<pb::GetEnterpriseResponse>, Status> {
        let (gate, r) = gated(request)?;
        let mut f = Fields::new();
        let case_id = f.take("case_id", parse_uuid(&r.case_id));
        use pb::get_enterprise_request::AsOf as P;
        let as_of = match r.as_of {
            None => Some(AsOf::Latest),
            Some(P::Revision(rev)) => Some(AsOf::Revision(rev)),
            Some(P::RecordedAt(t)) => f.take("recorded_at", timestamp(&t)).map(AsOf::RecordedAt),
            Some(P::EffectiveDate(d)) => f.take("effective_date", parse_date(&d)).map(AsOf::EffectiveDate),
        };
        let (Some(case_id), Some(as_of)) = (case_id, as_of) else { return Err(f.into_status()) };
        let view = self.cases.state(case_id, as_of, &Access::Caller(gate)).await.map_err(to_status)?;
        Ok(Response::new(pb::GetEnterpriseResponse { case: Some(to_proto_enterprise(&view)) }))
    }

    async fn find_enterprise_by_credit_code(
        &self,
        request: Request<pb::FindEnterpriseByCreditCodeRequest>,
    ) -> Result<Response<pb::FindEnterpriseByCreditCodeResponse>, Status> {
        let (gate, r) = gated(request)?;
        let mut f = Fields::new();
        // The form only: an early code registered after confirmation is found too.
        let Some(code) = f.take("credit_code", CreditCode::parse_format(&r.credit_code)) else {
            return Err(f.into_status());
        };
        let (case_id, revision) =
            self.cases.find(&Target::Enterprise(code), &Access::Caller(gate)).await.map_err(to_status)?;
        Ok(Response::new(pb::FindEnterpriseByCreditCodeResponse { case_id: case_id.to_string(), revision }))
    }

    async fn replay_enterprise(
        &self,
        request: Request<pb::ReplayEnterpriseRequest>,
    ) -> Result<Response<pb::ReplayEnterpriseResponse>, Status> {
        let (gate, r) = gated(request)?;
        let mut f = Fields::new();
        let Some(case_id) = f.take("case_id", parse_uuid(&r.case_id)) else { return Err(f.into_status()) };
        let history = self.cases.replay(case_id, &Access::Caller(gate)).await.map_err(to_status)?;
        let today = self.cases.today();
        let events = history
            .iter()
            .map(|(recorded, after)| pb::RecordedEnterpriseEvent {
                metadata: Some(to_proto_metadata(case_id, recorded)),
                event: Some(to_proto_enterprise_event(&recorded.event.fact)),
                state_after: Some(to_proto_enterprise(&CaseView {
                    case_id,
                    revision: recorded.revision,
                    case: after.clone(),
                    reference_date: today,
                })),
            })
            .collect();
        Ok(Response::new(pb::ReplayEnterpriseResponse { events }))
    }
}

// === check_*: protobuf → domain ===

fn at_least_one(n: u32) -> Result<NonZeroU32, &'static str> {
    NonZeroU32::new(n).ok_or("must be at least 1")
}

/// The credit code rule (GB 32100-2015 check character), with the escape for
/// early codes confirmed by hand: see `check_character_confirmed` in the proto.
fn check_registration(f: &mut Fields, reg: Option<&pb::EnterpriseRegistration>) -> Option<EnterpriseRegistration> {
    let r = required(f, "registration", reg)?;
    let credit_code = match CreditCode::parse_format(&r.credit_code) {
        Err(e) => {
            f.bad("registration.credit_code", e.to_string());
            None
        }
        Ok(c) if c.check_character_valid() || r.check_character_confirmed => Some(c),
        Ok(_) => {
            f.bad(
                "registration.credit_code",
                "check character does not match (GB 32100-2015); if the code is exactly as on the business \
                 licence (some early codes fail the check yet are legal), set registration.check_character_confirmed",
            );
            None
        }
    };
    let name = f.take("registration.name", input(&r.name).and_then(EnterpriseName::parse));
    let district = f.take("registration.district", DistrictCode::parse(&r.district));
    let industry_code = f.take("registration.industry_code", industry(&r.industry_code));
    let mut kinds = BTreeSet::new();
    for (i, k) in r.kinds.iter().enumerate() {
        if let Some(k) = check_enum(f, &format!("registration.kinds[{i}]"), *k, enterprise_kind) {
            if !kinds.insert(k) {
                f.bad(format!("registration.kinds[{i}]"), "is listed twice");
            }
        }
    }
    let credit_code = credit_code?;
    Some(EnterpriseRegistration {
        check_character_valid: credit_code.check_character_valid(),
        credit_code,
        name: name?,
        district: district?,
        industry_code: industry_code?,
        insured_employees: r.insured_employees,
        small_micro: r.small_micro,
        kinds,
    })
}

/// GB/T 4754 codes: a section letter and up to four digits, e.g. "C3411".
fn industry(raw: &str) -> Result<String, &'static str> {
    let s = raw.trim().to_ascii_uppercase();
    let ok = (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok { Ok(s) } else { Err("must be a GB/T 4754 industry code: 1 to 8 letters or digits") }
}
