//! The person-case gRPC adapter: thin. Parse the request into domain types
//! (`check_*`), hand it to [`PersonCases`], map the result back with
//! [`crate::wire`] (the one domain → protobuf mapping, shared with the
//! publisher). Only this module knows the person protobuf request types.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Utc};
use leye_auth::{PrincipalId, Role};
use leye_domain::{
    Date,
    person::{self as domain, DatedCommand, PersonCommand},
    values::{
        CountyCode, CreditCode, DateRange, Gender, PersonName, Residence, ResidencePart, ResidentId, code, input,
        input_text, parse_date,
    },
};
use leye_policy::PostType;
use leye_proto::{
    common::v1::CommandContext,
    person::v1::{self as pb, person_case_service_server::PersonCaseService},
};
use leye_store::EventStore;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{
    guard::gated,
    reply::CommandReply,
    status::{Fields, denied, to_status},
    subsidy,
};
use crate::{
    access::{Access, Denied, Gate},
    cases::{AppError, AsOf, CaseView, CommandMeta, PersonCases, Target},
    subsidies::{CaseRef, Subsidies},
    wire::subsidy::retirement_pb,
    wire::{
        benefit_end_reason, contact_channel, contact_outcome, difficulty_category, education, erasure_ground,
        exit_reason, household_relation, hukou_nature, person_group, placement_end_reason, placement_kind,
        to_proto_case, to_proto_event, to_proto_metadata, training_programme,
    },
};

/// The gRPC face of [`PersonCases`].
#[derive(Debug, Clone)]
pub struct PersonApi<S> {
    cases: PersonCases<S>,
    subsidies: Subsidies<S>,
}

impl<S: EventStore> PersonApi<S> {
    pub fn new(cases: PersonCases<S>, subsidies: Subsidies<S>) -> Self {
        Self { cases, subsidies }
    }

    /// The case view with what the policy catalogue derives from it.
    fn case_pb(&self, view: &CaseView) -> pb::PersonCase {
        let mut case = to_proto_case(view);
        if let Some(file) = view.case.file() {
            let id = &file.registration.resident_id;
            case.retirement =
                retirement_pb(self.subsidies.catalogue(), id.birth_date(), id.gender(), view.reference_date);
        }
        case
    }

    /// Runs a command on an existing case after parsing its common fields.
    async fn on_case<R: CommandReply>(
        &self,
        gate: &Gate,
        context: Option<&CommandContext>,
        case_id: &str,
        effective_date: &str,
        fact: impl FnOnce(&mut Fields, Date) -> Option<PersonCommand>,
    ) -> Result<Response<R>, Status> {
        let mut f = Fields::new();
        let meta = check_context(&mut f, context, gate)?;
        let case_id = f.take("case_id", parse_uuid(case_id));
        let date = f.take("effective_date", parse_date(effective_date));
        let command = fact(&mut f, self.cases.today());
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
        command: PersonCommand,
    ) -> Result<Response<R>, Status> {
        let dated = DatedCommand { effective_date, command };
        let outcome = match &dated.command {
            // The retirement-age rules need the catalogue's dated tables, which
            // the decider has not: checked here, inside the case's turn, with
            // the birth date and sex of the registration sent or of the case.
            PersonCommand::RegisterUnemployment(_) | PersonCommand::ExitRegistration(_) => {
                let catalogue = self.subsidies.catalogue();
                let sent = match &dated.command {
                    PersonCommand::RegisterUnemployment(reg) => Some(&reg.resident_id),
                    _ => None,
                };
                self.cases
                    .execute_with(target, meta, &dated, |case, _| {
                        let id = sent.or(case.file().map(|f| &f.registration.resident_id));
                        if let Some(id) = id {
                            let retirement = retirement_dates(catalogue, id.birth_date(), id.gender());
                            domain::check_retirement(&dated.command, effective_date, retirement)
                                .map_err(AppError::Rejected)?;
                        }
                        Ok(dated.clone())
                    })
                    .await
            }
            _ => self.cases.execute(target, meta, dated).await,
        }
        .map_err(to_status)?;
        Ok(Response::new(R::of(crate::wire::command_result(&outcome))))
    }
}

/// The statutory retirement date (domain.md §4.7) from the catalogue's dated
/// tables. A woman's post type is not known to the case, so her date lies
/// between the one as a worker (earliest) and as a cadre (latest).
fn retirement_dates(catalogue: &leye_policy::Catalogue, birth: Date, gender: Gender) -> domain::RetirementDates {
    let on = |post| catalogue.retirement(birth, gender, post).1;
    match gender {
        Gender::Male => domain::RetirementDates::exactly(on(PostType::Worker)),
        Gender::Female => {
            let (worker, cadre) = (on(PostType::Worker), on(PostType::Cadre));
            domain::RetirementDates { earliest: worker.min(cadre), latest: worker.max(cadre) }
        }
    }
}

#[tonic::async_trait]
impl<S: EventStore> PersonCaseService for PersonApi<S> {
    async fn register_unemployment(
        &self,
        request: Request<pb::RegisterUnemploymentRequest>,
    ) -> Result<Response<pb::RegisterUnemploymentResponse>, Status> {
        let (gate, req) = gated(request)?;
        let today = self.cases.today();
        let mut f = Fields::new();
        let meta = check_context(&mut f, req.context.as_ref(), &gate)?;
        let date = f.take("effective_date", parse_date(&req.effective_date));
        let reg = check_registration(&mut f, req.registration.as_ref(), today);
        let (Some(meta), Some(date), Some((resident_id, reg)), true) = (meta, date, reg, f.is_empty()) else {
            return Err(f.into_status());
        };
        self.run(Target::Person(resident_id), meta, date, PersonCommand::RegisterUnemployment(reg)).await
    }

    async fn recognise_difficulty(
        &self,
        request: Request<pb::RecogniseDifficultyRequest>,
    ) -> Result<Response<pb::RecogniseDifficultyResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            check_difficulty(f, r.difficulty.as_ref()).map(PersonCommand::RecogniseDifficulty)
        })
        .await
    }

    async fn record_contact(
        &self,
        request: Request<pb::RecordContactRequest>,
    ) -> Result<Response<pb::RecordContactResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let c = required(f, "contact", r.contact.as_ref())?;
            let channel = check_enum(f, "contact.channel", c.channel, contact_channel);
            let outcome = check_enum(f, "contact.outcome", c.outcome, contact_outcome);
            let note = f.take("contact.note", input_text(&c.note, 0, 500));
            Some(PersonCommand::RecordContact(domain::Contact { channel: channel?, outcome: outcome?, note: note? }))
        })
        .await
    }

    async fn recommend_job(
        &self,
        request: Request<pb::RecommendJobRequest>,
    ) -> Result<Response<pb::RecommendJobResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let j = required(f, "recommendation", r.recommendation.as_ref())?;
            let vacancy_id = f.take("recommendation.vacancy_id", code(&j.vacancy_id));
            let enterprise =
                optional_credit_code(f, "recommendation.enterprise_credit_code", &j.enterprise_credit_code);
            Some(PersonCommand::RecommendJob(domain::JobRecommendation {
                vacancy_id: vacancy_id?,
                enterprise: enterprise?,
                two_way: j.two_way,
            }))
        })
        .await
    }

    async fn enrol_training(
        &self,
        request: Request<pb::EnrolTrainingRequest>,
    ) -> Result<Response<pb::EnrolTrainingResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let t = required(f, "training", r.training.as_ref())?;
            let training_id = f.take("training.training_id", code(&t.training_id));
            let programme = check_enum(f, "training.programme", t.programme, training_programme);
            let provider = f.take("training.provider", input_text(&t.provider, 1, 100));
            Some(PersonCommand::EnrolTraining(domain::TrainingEnrolment {
                training_id: training_id?,
                programme: programme?,
                provider: provider?,
            }))
        })
        .await
    }

    async fn complete_training(
        &self,
        request: Request<pb::CompleteTrainingRequest>,
    ) -> Result<Response<pb::CompleteTrainingResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let c = required(f, "completion", r.completion.as_ref())?;
            let training_id = f.take("completion.training_id", code(&c.training_id));
            let certificate = f.take("completion.certificate", input_text(&c.certificate, 0, 64));
            Some(PersonCommand::CompleteTraining(domain::TrainingCompletion {
                training_id: training_id?,
                certificate: certificate.map(|c| Some(c).filter(|c| !c.is_empty()))?,
            }))
        })
        .await
    }

    async fn drop_training(
        &self,
        request: Request<pb::DropTrainingRequest>,
    ) -> Result<Response<pb::DropTrainingResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let d = required(f, "drop", r.drop.as_ref())?;
            let training_id = f.take("drop.training_id", code(&d.training_id));
            let reason = f.take("drop.reason", input_text(&d.reason, 0, 200));
            Some(PersonCommand::DropTraining(domain::TrainingDrop { training_id: training_id?, reason: reason? }))
        })
        .await
    }

    async fn record_placement(
        &self,
        request: Request<pb::RecordPlacementRequest>,
    ) -> Result<Response<pb::RecordPlacementResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            check_placement(f, r.placement.as_ref()).map(PersonCommand::RecordPlacement)
        })
        .await
    }

    async fn end_placement(
        &self,
        request: Request<pb::EndPlacementRequest>,
    ) -> Result<Response<pb::EndPlacementResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let e = required(f, "end", r.end.as_ref())?;
            let reason = check_enum(f, "end.reason", e.reason, placement_end_reason)?;
            Some(PersonCommand::EndPlacement(domain::PlacementEnd { reason }))
        })
        .await
    }

    async fn propose_subsidy(
        &self,
        request: Request<pb::ProposeSubsidyRequest>,
    ) -> Result<Response<pb::ProposeSubsidyResponse>, Status> {
        let (gate, r) = gated(request)?;
        let (result, decision) =
            subsidy::propose(&self.subsidies, CaseRef::Person, gate, r.context.as_ref(), (&r).into()).await?;
        Ok(Response::new(pb::ProposeSubsidyResponse { result: Some(result), decision }))
    }

    async fn evaluate_subsidy(
        &self,
        request: Request<pb::EvaluateSubsidyRequest>,
    ) -> Result<Response<pb::EvaluateSubsidyResponse>, Status> {
        let (gate, r) = gated(request)?;
        let decision = subsidy::evaluate(&self.subsidies, CaseRef::Person, gate, (&r).into()).await?;
        Ok(Response::new(pb::EvaluateSubsidyResponse { decision: Some(decision) }))
    }

    async fn approve_subsidy(
        &self,
        request: Request<pb::ApproveSubsidyRequest>,
    ) -> Result<Response<pb::ApproveSubsidyResponse>, Status> {
        let (gate, r) = gated(request)?;
        let (result, decision) =
            subsidy::approve(&self.subsidies, CaseRef::Person, gate, r.context.as_ref(), (&r).into()).await?;
        Ok(Response::new(pb::ApproveSubsidyResponse { result: Some(result), decision }))
    }

    async fn reject_subsidy_proposal(
        &self,
        request: Request<pb::RejectSubsidyProposalRequest>,
    ) -> Result<Response<pb::RejectSubsidyProposalResponse>, Status> {
        let (gate, r) = gated(request)?;
        let result = subsidy::reject(&self.subsidies, CaseRef::Person, gate, r.context.as_ref(), (&r).into()).await?;
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
            Some(PersonCommand::RevokeSubsidy(domain::SubsidyRevocation { subsidy_id: subsidy_id?, reason: reason? }))
        })
        .await
    }

    async fn start_benefit(
        &self,
        request: Request<pb::StartBenefitRequest>,
    ) -> Result<Response<pb::StartBenefitResponse>, Status> {
        let (gate, r) = gated(request)?;
        let mut f = Fields::new();
        let meta = check_context(&mut f, r.context.as_ref(), &gate)?;
        let case_id = f.take("case_id", parse_uuid(&r.case_id));
        let date = f.take("effective_date", parse_date(&r.effective_date));
        let benefit = required(&mut f, "benefit", r.benefit.as_ref()).and_then(|b| {
            if !(1..=24).contains(&b.months) {
                f.bad("benefit.months", "must be 1 to 24 (失业保险条例 art. 17)");
                return None;
            }
            Some(domain::BenefitStart { months: b.months, extended_to_retirement: b.extended_to_retirement })
        });
        let post_type = match r.post_type.trim() {
            "" => Some(None),
            p @ ("worker" | "cadre") => Some(Some(p.to_string())),
            _ => {
                f.bad("post_type", "must be \"worker\" or \"cadre\" when given");
                None
            }
        };
        let (Some(meta), Some(case_id), Some(date), Some(benefit), Some(post_type), true) =
            (meta, case_id, date, benefit, post_type, f.is_empty())
        else {
            return Err(f.into_status());
        };
        let outcome = self.subsidies.start_benefit(case_id, meta, date, benefit, post_type).await.map_err(to_status)?;
        Ok(Response::new(pb::StartBenefitResponse::of(crate::wire::command_result(&outcome))))
    }

    async fn end_benefit(
        &self,
        request: Request<pb::EndBenefitRequest>,
    ) -> Result<Response<pb::EndBenefitResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let e = required(f, "end", r.end.as_ref())?;
            let reason = check_enum(f, "end.reason", e.reason, benefit_end_reason)?;
            Some(PersonCommand::EndBenefit(domain::BenefitEnd { reason }))
        })
        .await
    }

    async fn exit_registration(
        &self,
        request: Request<pb::ExitRegistrationRequest>,
    ) -> Result<Response<pb::ExitRegistrationResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let x = required(f, "exit", r.exit.as_ref())?;
            let reason = check_enum(f, "exit.reason", x.reason, exit_reason)?;
            Some(PersonCommand::ExitRegistration(domain::RegistrationExit { reason }))
        })
        .await
    }

    async fn erase_personal_data(
        &self,
        request: Request<pb::ErasePersonalDataRequest>,
    ) -> Result<Response<pb::ErasePersonalDataResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let e = required(f, "erasure", r.erasure.as_ref())?;
            let ground = check_enum(f, "erasure.ground", e.ground, erasure_ground)?;
            Some(PersonCommand::ErasePersonalData(domain::PersonalDataErasure { ground }))
        })
        .await
    }

    async fn join_household(
        &self,
        request: Request<pb::JoinHouseholdRequest>,
    ) -> Result<Response<pb::JoinHouseholdResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let m = required(f, "membership", r.membership.as_ref())?;
            check_membership(f, "membership", m).map(PersonCommand::JoinHousehold)
        })
        .await
    }

    async fn leave_household(
        &self,
        request: Request<pb::LeaveHouseholdRequest>,
    ) -> Result<Response<pb::LeaveHouseholdResponse>, Status> {
        let (gate, r) = gated(request)?;
        self.on_case(&gate, r.context.as_ref(), &r.case_id, &r.effective_date, |f, _| {
            let l = required(f, "leave", r.leave.as_ref())?;
            let household_id = f.take("leave.household_id", parse_uuid(&l.household_id))?;
            Some(PersonCommand::LeaveHousehold(domain::HouseholdLeave { household_id }))
        })
        .await
    }

    async fn get_case(&self, request: Request<pb::GetCaseRequest>) -> Result<Response<pb::GetCaseResponse>, Status> {
        let (gate, r) = gated(request)?;
        let mut f = Fields::new();
        let case_id = f.take("case_id", parse_uuid(&r.case_id));
        use pb::get_case_request::AsOf as P;
        let as_of = match r.as_of {
            None => Some(AsOf::Latest),
            Some(P::Revision(rev)) => Some(AsOf::Revision(rev)),
            Some(P::RecordedAt(t)) => f.take("recorded_at", timestamp(&t)).map(AsOf::RecordedAt),
            Some(P::EffectiveDate(d)) => f.take("effective_date", parse_date(&d)).map(AsOf::EffectiveDate),
        };
        let (Some(case_id), Some(as_of)) = (case_id, as_of) else { return Err(f.into_status()) };
        let view = self.cases.state(case_id, as_of, &Access::Caller(gate)).await.map_err(to_status)?;
        Ok(Response::new(pb::GetCaseResponse { case: Some(self.case_pb(&view)) }))
    }

    async fn find_case_by_resident_id(
        &self,
        request: Request<pb::FindCaseByResidentIdRequest>,
    ) -> Result<Response<pb::FindCaseByResidentIdResponse>, Status> {
        let (gate, r) = gated(request)?;
        let mut f = Fields::new();
        let Some(id) = f.take("resident_id", ResidentId::parse(&r.resident_id, self.cases.today())) else {
            return Err(f.into_status());
        };
        let (case_id, revision) =
            self.cases.find(&Target::Person(id), &Access::Caller(gate)).await.map_err(to_status)?;
        Ok(Response::new(pb::FindCaseByResidentIdResponse { case_id: case_id.to_string(), revision }))
    }

    async fn replay_case(
        &self,
        request: Request<pb::ReplayCaseRequest>,
    ) -> Result<Response<pb::ReplayCaseResponse>, Status> {
        let (gate, r) = gated(request)?;
        let mut f = Fields::new();
        let Some(case_id) = f.take("case_id", parse_uuid(&r.case_id)) else { return Err(f.into_status()) };
        let history = self.cases.replay(case_id, &Access::Caller(gate)).await.map_err(to_status)?;
        let today = self.cases.today();
        let events = history
            .iter()
            .map(|(recorded, after)| pb::RecordedPersonEvent {
                metadata: Some(to_proto_metadata(case_id, recorded)),
                event: Some(to_proto_event(&recorded.event.fact)),
                state_after: Some(self.case_pb(&CaseView {
                    case_id,
                    revision: recorded.revision,
                    case: after.clone(),
                    reference_date: today,
                })),
            })
            .collect();
        Ok(Response::new(pb::ReplayCaseResponse { events }))
    }
}

// === check_*: protobuf → domain ===

pub(super) fn parse_uuid(raw: &str) -> Result<Uuid, String> {
    if raw.trim().is_empty() {
        return Err("is required (a UUID)".into());
    }
    Uuid::parse_str(raw.trim()).map_err(|_| "must be a UUID".to_string())
}

pub(super) fn timestamp(t: &prost_types::Timestamp) -> Result<DateTime<Utc>, String> {
    u32::try_from(t.nanos)
        .ok()
        .and_then(|n| DateTime::from_timestamp(t.seconds, n))
        .ok_or_else(|| "must be a valid timestamp".to_string())
}

pub(super) fn required<'a, T>(f: &mut Fields, field: &str, value: Option<&'a T>) -> Option<&'a T> {
    if value.is_none() {
        f.bad(field, "is required");
    }
    value
}

/// Reads a protobuf enum: 0 (UNSPECIFIED) is "is required", unknown numbers are refused.
pub(super) fn check_enum<P: TryFrom<i32>, D>(
    f: &mut Fields,
    field: &str,
    raw: i32,
    map: impl Fn(P) -> Option<D>,
) -> Option<D> {
    match P::try_from(raw).ok() {
        None => {
            f.bad(field, format!("unknown enum value {raw}"));
            None
        }
        Some(p) => {
            let d = map(p);
            if d.is_none() {
                f.bad(field, "is required");
            }
            d
        }
    }
}

pub(super) fn check_context(
    f: &mut Fields,
    context: Option<&CommandContext>,
    gate: &Gate,
) -> Result<Option<CommandMeta>, Status> {
    let Some(c) = required(f, "context", context) else { return Ok(None) };
    let principal = gate.principal();
    // Who acts is the principal; the context may only repeat it.
    let mismatch = |field| denied(&gate.deny(Denied::ContextMismatch { field }));
    if !c.actor.trim().is_empty() && PrincipalId::parse(&c.actor).ok().as_ref() != Some(&principal.id) {
        return Err(mismatch("context.actor"));
    }
    if c.roles.iter().any(|r| r.trim().parse::<Role>().map_or(true, |role| !principal.has_role(role))) {
        return Err(mismatch("context.roles"));
    }
    let office = match (&principal.office, c.office.trim()) {
        (Some(own), "") => Some(own.clone()),
        (Some(own), given) if given == own => Some(own.clone()),
        (Some(_), _) => return Err(mismatch("context.office")),
        (None, given) => f.take("context.office", input_text(given, 1, 64)),
    };
    // The nil UUID is what a careless client sends for "no id": two such
    // clients would collide (the second answered with the first's outcome).
    let command_id = f.take(
        "context.command_id",
        parse_uuid(&c.command_id).and_then(|id| {
            if id.is_nil() { Err("must not be the nil UUID: a fresh UUID for each command".into()) } else { Ok(id) }
        }),
    );
    let optional_id = |f: &mut Fields, field: &str, raw: &str| {
        if raw.trim().is_empty() { command_id } else { f.take(field, parse_uuid(raw)) }
    };
    let correlation_id = optional_id(f, "context.correlation_id", &c.correlation_id);
    let causation_id = optional_id(f, "context.causation_id", &c.causation_id);
    Ok((|| {
        Some(CommandMeta {
            command_id: command_id?,
            correlation_id: correlation_id?,
            causation_id: causation_id?,
            actor: principal.id.to_string(),
            office: office?,
            expected_revision: c.expected_revision,
            access: Access::Caller(gate.clone()),
        })
    })())
}

/// The registration, with its resident ID apart (it names the case).
fn check_registration(
    f: &mut Fields,
    reg: Option<&pb::Registration>,
    today: Date,
) -> Option<(ResidentId, domain::Registration)> {
    let r = required(f, "registration", reg)?;
    let resident_id = f.take("registration.resident_id", ResidentId::parse(&r.resident_id, today));
    let name = f.take("registration.name", input(&r.name).and_then(PersonName::parse));
    let hukou = required(f, "registration.hukou", r.hukou.as_ref()).and_then(|h| {
        let county = f.take("registration.hukou.district_code", CountyCode::parse(&h.district_code));
        let nature = check_enum(f, "registration.hukou.nature", h.nature, hukou_nature);
        Some(domain::Hukou { county: county?, nature: nature? })
    });
    let residence =
        required(f, "registration.residence", r.residence.as_ref()).and_then(|res| {
            match Residence::parse(&res.district_code, &res.street_code, &res.community_code) {
                Ok(residence) => Some(residence),
                Err((part, rule)) => {
                    let field = match part {
                        ResidencePart::District => "registration.residence.district_code",
                        ResidencePart::Street => "registration.residence.street_code",
                        ResidencePart::Community => "registration.residence.community_code",
                    };
                    f.bad(field, rule.0);
                    None
                }
            }
        });
    let education = check_enum(f, "registration.education", r.education, education);
    let graduation = match &r.graduation {
        None => Some(None),
        Some(g) => {
            let year = if (1950..=today.year()).contains(&g.year) {
                Some(g.year)
            } else {
                f.bad("registration.graduation.year", "must be a year from 1950 to this year");
                None
            };
            let school = f.take("registration.graduation.school", input_text(&g.school, 1, 100));
            year.zip(school)
                .map(|(year, school)| Some(domain::Graduation { year, school, tianjin_school: g.tianjin_school }))
        }
    };
    let household = match &r.household {
        None => Some(None),
        Some(h) => check_membership(f, "registration.household", h).map(Some),
    };
    let mut groups = BTreeSet::new();
    for (i, raw) in r.groups.iter().enumerate() {
        if let Some(g) = check_enum(f, &format!("registration.groups[{i}]"), *raw, person_group) {
            if !groups.insert(g) {
                f.bad(format!("registration.groups[{i}]"), "is listed twice");
            }
        }
    }
    let resident_id = resident_id?;
    Some((
        resident_id.clone(),
        domain::Registration {
            resident_id: resident_id.into(),
            name: Some(name?),
            hukou: hukou?,
            residence: residence?,
            education: education?,
            graduation: graduation?,
            household: household?,
            groups,
        },
    ))
}

/// A household membership; `at` is the field path of the message, e.g. `membership`.
fn check_membership(f: &mut Fields, at: &str, m: &pb::HouseholdMembership) -> Option<domain::HouseholdMembership> {
    let id = f.take(&format!("{at}.household_id"), parse_uuid(&m.household_id));
    let relation = check_enum(f, &format!("{at}.relation"), m.relation, household_relation);
    Some(domain::HouseholdMembership { household_id: id?, relation: relation? })
}

fn check_difficulty(f: &mut Fields, d: Option<&pb::Difficulty>) -> Option<domain::Difficulty> {
    let d = required(f, "difficulty", d)?;
    let mut categories = BTreeSet::new();
    if d.categories.is_empty() {
        f.bad("difficulty.categories", "needs at least one category");
    }
    for (i, raw) in d.categories.iter().enumerate() {
        if let Some(c) = check_enum(f, &format!("difficulty.categories[{i}]"), *raw, difficulty_category) {
            if !categories.insert(c) {
                f.bad(format!("difficulty.categories[{i}]"), "is listed twice");
            }
        }
    }
    let from = f.take("difficulty.valid_from", parse_date(&d.valid_from));
    let to = f.take("difficulty.valid_to", parse_date(&d.valid_to));
    let valid = f.take("difficulty.valid_to", DateRange::new(from?, to?))?;
    Some(domain::Difficulty { categories, valid })
}

fn optional_credit_code(f: &mut Fields, field: &str, raw: &str) -> Option<Option<CreditCode>> {
    if raw.trim().is_empty() { Some(None) } else { f.take(field, CreditCode::parse(raw)).map(Some) }
}

fn check_placement(f: &mut Fields, p: Option<&pb::Placement>) -> Option<domain::Placement> {
    let p = required(f, "placement", p)?;
    let kind = check_enum(f, "placement.kind", p.kind, placement_kind);
    let employer = optional_credit_code(f, "placement.employer_credit_code", &p.employer_credit_code);
    if let (Some(kind), Some(None)) = (kind, &employer) {
        if kind.needs_employer() {
            f.bad("placement.employer_credit_code", "is required for this placement kind");
            return None;
        }
    }
    let contract_months = match p.contract_months {
        Some(m) if !(1..=600).contains(&m) => {
            f.bad("placement.contract_months", "must be 1 to 600 when given");
            None
        }
        other => Some(other),
    };
    Some(domain::Placement { kind: kind?, employer: employer?, contract_months: contract_months? })
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, sync::Arc};

    use chrono::TimeZone;
    use leye_domain::person::{Education, ExitReason, Hukou, HukouNature, Registration, RegistrationExit};
    use leye_store::SqliteStore;
    use tonic_types::StatusExt;

    use super::*;
    use crate::{identity::CaseIds, subsidies::Subsidies};

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    fn resident_id(birth: &str, seq: u32) -> ResidentId {
        let first17 = format!("120111{birth}{seq:03}");
        let check = ResidentId::check_character(&first17).unwrap();
        ResidentId::parse(&format!("{first17}{check}"), d("2026-11-22")).unwrap()
    }

    fn registration(id: ResidentId) -> Registration {
        Registration {
            resident_id: id.into(),
            name: Some(PersonName::parse("测试").unwrap()),
            hukou: Hukou { county: CountyCode::parse("120111").unwrap(), nature: HukouNature::Urban },
            residence: Residence::parse("120111", "120111001", "120111001002").unwrap(),
            education: Education::SeniorSecondary,
            graduation: None,
            household: None,
            groups: BTreeSet::new(),
        }
    }

    fn meta() -> CommandMeta {
        CommandMeta {
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
            actor: "staff-1".into(),
            office: "120111001".into(),
            expected_revision: None,
            access: Access::internal(),
        }
    }

    fn reason(status: &Status) -> String {
        status.get_details_error_info().map(|i| i.reason).unwrap_or_default()
    }

    /// Hand-computed from the 2024 decision (domain.md §4.7): a man born
    /// 1980-06 (after 1976-12) retires at 63; a man born 1962-01 reached 60
    /// under the 1978 law; a woman born 1975-01 is in the first cohorts of
    /// both women's schedules: 50y1m as a worker, and as a cadre 55 plus one
    /// month for each 4 months since 1970-01 (60 months: 16 steps), 56y4m.
    #[test]
    fn retirement_dates_come_from_the_catalogue_and_bound_a_woman_by_both_post_types() {
        let catalogue = leye_policy::default_catalogue();
        assert_eq!(
            retirement_dates(catalogue, d("1980-06-15"), Gender::Male),
            domain::RetirementDates::exactly(d("2043-06-15"))
        );
        assert_eq!(
            retirement_dates(catalogue, d("1962-01-01"), Gender::Male),
            domain::RetirementDates::exactly(d("2022-01-01"))
        );
        assert_eq!(
            retirement_dates(catalogue, d("1975-01-15"), Gender::Female),
            domain::RetirementDates { earliest: d("2025-02-15"), latest: d("2031-05-15") }
        );
    }

    /// The retirement-age rules hold on the way in: an exit for "reached
    /// retirement age" at 46 is BEFORE_RETIREMENT_AGE on exit.reason, a
    /// registration at 64 PAST_RETIREMENT_AGE on registration.resident_id.
    #[tokio::test]
    async fn an_exit_for_retirement_age_before_it_and_a_registration_past_it_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("events.sqlite"), Default::default()).await.unwrap();
        let noon = chrono::Utc.from_utc_datetime(&d("2026-11-22").and_hms_opt(4, 0, 0).unwrap());
        let cases = PersonCases::new(store, CaseIds::from_key([3; 32]), Arc::new(move || noon));
        let subsidies = Subsidies::new(cases.clone(), Arc::new(leye_policy::default_catalogue().clone()));
        let api = PersonApi::new(cases, subsidies);

        let man = resident_id("19800615", 3);
        let target = || Target::Person(man.clone());
        let registered: Response<pb::RegisterUnemploymentResponse> = api
            .run(target(), meta(), d("2026-01-05"), PersonCommand::RegisterUnemployment(registration(man.clone())))
            .await
            .unwrap();
        assert!(registered.into_inner().result.is_some());
        let exit = |reason| PersonCommand::ExitRegistration(RegistrationExit { reason });
        let refused = api
            .run::<pb::ExitRegistrationResponse>(
                target(),
                meta(),
                d("2026-11-22"),
                exit(ExitReason::ReachedRetirementAge),
            )
            .await
            .unwrap_err();
        assert_eq!(reason(&refused), "BEFORE_RETIREMENT_AGE");
        assert!(refused.message().starts_with("exit.reason:"), "{}", refused.message());
        api.run::<pb::ExitRegistrationResponse>(target(), meta(), d("2026-11-22"), exit(ExitReason::NoLongerSeeking))
            .await
            .expect("another reason is his to give");

        let old = resident_id("19620101", 3);
        let refused = api
            .run::<pb::RegisterUnemploymentResponse>(
                Target::Person(old.clone()),
                meta(),
                d("2026-11-22"),
                PersonCommand::RegisterUnemployment(registration(old.clone())),
            )
            .await
            .unwrap_err();
        assert_eq!(reason(&refused), "PAST_RETIREMENT_AGE");
        assert!(refused.message().starts_with("registration.resident_id:"), "{}", refused.message());
        assert!(!refused.message().contains("1962"), "{}", refused.message());
        api.run::<pb::RegisterUnemploymentResponse>(
            Target::Person(old.clone()),
            meta(),
            d("2021-12-31"),
            PersonCommand::RegisterUnemployment(registration(old)),
        )
        .await
        .expect("the day before he reached 60");
    }
}
