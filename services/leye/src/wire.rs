//! The one mapping between domain values and the public protobuf messages of
//! `proto/`: events, their envelopes, case views (domain → protobuf), and the
//! enum tables both ways.
//!
//! Used by the gRPC adapter (replies, replay) and by the publisher (NATS
//! payloads), so a fact looks the same on every wire. Parsing requests
//! (protobuf → domain, with field errors) stays in `grpc`, which borrows the
//! enum tables from here.
//!
//! # Invariant
//! Every domain fact has exactly one protobuf form: [`to_proto_event`]. A new
//! fact or field is added here once and reaches gRPC and NATS together.

use leye_domain::{
    Date,
    person::{self as domain, PersonCase, PersonFact},
    values::Gender,
};
use leye_proto::{common::v1::EventMetadata, person::v1 as pb};
use uuid::Uuid;

use crate::cases::{CaseView, Recorded};

// === enum maps, both ways ===

macro_rules! enum_map {
    ($to_domain:ident, $to_proto:ident, $p:ty, $d:ty, { $($pv:ident => $dv:ident),+ $(,)? }) => {
        pub(crate) fn $to_domain(p: $p) -> Option<$d> {
            match p {
                <$p>::Unspecified => None,
                $(<$p>::$pv => Some(<$d>::$dv),)+
            }
        }
        pub(crate) fn $to_proto(d: $d) -> i32 {
            match d {
                $(<$d>::$dv => <$p>::$pv as i32,)+
            }
        }
    };
}

// After the macro, so the enterprise module can use it.
pub mod enterprise;
pub mod subsidy;

enum_map!(erasure_ground, erasure_ground_pb, pb::ErasureGround, domain::ErasureGround, {
    PurposeAchieved => PurposeAchieved, RetentionExpired => RetentionExpired, ConsentWithdrawn => ConsentWithdrawn,
    UnlawfulProcessing => UnlawfulProcessing, Other => Other,
});
enum_map!(hukou_nature, hukou_nature_pb, pb::HukouNature, domain::HukouNature, { Urban => Urban, Rural => Rural });
enum_map!(education, education_pb, pb::Education, domain::Education, {
    PrimaryOrBelow => PrimaryOrBelow, JuniorSecondary => JuniorSecondary, SeniorSecondary => SeniorSecondary,
    JuniorCollege => JuniorCollege, Bachelor => Bachelor, Master => Master, Doctorate => Doctorate,
});
enum_map!(household_relation, household_relation_pb, pb::HouseholdRelation, domain::HouseholdRelation, {
    Head => Head, Spouse => Spouse, Child => Child, Parent => Parent, Other => Other,
});
enum_map!(person_group, person_group_pb, pb::PersonGroup, domain::PersonGroup, {
    Graduate => Graduate, GraduateUnemployedAfterSchool => GraduateUnemployedAfterSchool,
    TianjinStudent => TianjinStudent, HaiheTalent => HaiheTalent, RuralLabour => RuralLabour,
    PoorVillageLabour => PoorVillageLabour, MigrantWorker => MigrantWorker, ReturningFounder => ReturningFounder,
    Veteran => Veteran, Disabled => Disabled, MilitarySpouse => MilitarySpouse,
    RegisteredPoorLabour => RegisteredPoorLabour, RelocatedFarmer => RelocatedFarmer,
    ZeroEmploymentHousehold => ZeroEmploymentHousehold, MinimumLivingAllowance => MinimumLivingAllowance,
    LowIncomeFamily => LowIncomeFamily, SingleParent => SingleParent,
    SupportsSeriouslyIllRelative => SupportsSeriouslyIllRelative, RuralSchoolLeaver => RuralSchoolLeaver,
});
enum_map!(difficulty_category, difficulty_category_pb, pb::DifficultyCategory, domain::DifficultyCategory, {
    ZeroEmploymentHousehold => ZeroEmploymentHousehold, SingleParentHousehold => SingleParentHousehold,
    MinimumLivingAllowanceHousehold => MinimumLivingAllowanceHousehold,
    SupportsSeriouslyIllRelative => SupportsSeriouslyIllRelative, Age4050 => Age4050, OlderWorker => OlderWorker,
    Disabled => Disabled, RegisteredPoorLabour => RegisteredPoorLabour, LongTermUnemployed => LongTermUnemployed,
    Other => Other,
});
enum_map!(contact_channel, contact_channel_pb, pb::ContactChannel, domain::ContactChannel, {
    InPerson => InPerson, Phone => Phone, HomeVisit => HomeVisit, Online => Online, Sms => Sms,
});
enum_map!(contact_outcome, contact_outcome_pb, pb::ContactOutcome, domain::ContactOutcome, {
    StillSeeking => StillSeeking, FoundWork => FoundWork, NotSeeking => NotSeeking, NotReached => NotReached,
});
enum_map!(training_programme, training_programme_pb, pb::TrainingProgramme, domain::TrainingProgramme, {
    VocationalSkills => VocationalSkills, StartUpMalanhua => StartUpMalanhua,
    ImproveYourBusiness => ImproveYourBusiness, OnlineVocational => OnlineVocational,
});
enum_map!(placement_kind, placement_kind_pb, pb::PlacementKind, domain::PlacementKind, {
    Enterprise => Enterprise, Flexible => Flexible, SelfEmployed => SelfEmployed, StartUp => StartUp,
    PublicWelfarePost => PublicWelfarePost, CommunityServicePost => CommunityServicePost, Internship => Internship,
});
enum_map!(placement_end_reason, placement_end_reason_pb, pb::PlacementEndReason, domain::PlacementEndReason, {
    ContractExpired => ContractExpired, Resigned => Resigned, Dismissed => Dismissed,
    EmployerClosed => EmployerClosed, PostEnded => PostEnded, BusinessClosed => BusinessClosed, Other => Other,
});
enum_map!(benefit_end_reason, benefit_end_reason_pb, pb::BenefitEndReason, domain::BenefitEndReason, {
    Exhausted => Exhausted, Employed => Employed, Retired => Retired, Other => Other,
});
enum_map!(exit_reason, exit_reason_pb, pb::ExitReason, domain::ExitReason, {
    Employed => Employed, ReachedRetirementAge => ReachedRetirementAge, EnteredSchool => EnteredSchool,
    Enlisted => Enlisted, MovedAway => MovedAway, Deceased => Deceased, NoLongerSeeking => NoLongerSeeking,
    Other => Other,
});

// === to_proto_*: domain → protobuf ===

pub(crate) fn date_pb(d: Date) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn opt_date_pb(d: Option<Date>) -> String {
    d.map(date_pb).unwrap_or_default()
}

pub(crate) fn registration_pb(r: &domain::Registration) -> pb::Registration {
    let state = match (&r.resident_id, &r.name) {
        (leye_domain::values::RegisteredId::Known(_), Some(_)) => pb::PersonalDataState::Present,
        (id, _) if id.is_erased() => pb::PersonalDataState::Erased,
        _ => pb::PersonalDataState::Withheld,
    };
    let present = state == pb::PersonalDataState::Present;
    pb::Registration {
        resident_id: r.resident_id.known().filter(|_| present).map(|id| id.as_str().to_string()).unwrap_or_default(),
        name: r.name.as_ref().filter(|_| present).map(|n| n.as_str().to_string()).unwrap_or_default(),
        personal_data: state as i32,
        hukou: Some(pb::Hukou {
            district_code: r.hukou.county.as_str().to_string(),
            nature: hukou_nature_pb(r.hukou.nature),
        }),
        residence: Some(pb::Residence {
            district_code: r.residence.district.as_str().to_string(),
            street_code: r.residence.street.clone(),
            community_code: r.residence.community.clone(),
        }),
        education: education_pb(r.education),
        graduation: r.graduation.as_ref().map(|g| pb::Graduation {
            year: g.year,
            school: g.school.clone(),
            tianjin_school: g.tianjin_school,
        }),
        household: r.household.as_ref().map(membership_pb),
        groups: r.groups.iter().map(|g| person_group_pb(*g)).collect(),
    }
}

pub(crate) fn membership_pb(m: &domain::HouseholdMembership) -> pb::HouseholdMembership {
    pb::HouseholdMembership { household_id: m.household_id.to_string(), relation: household_relation_pb(m.relation) }
}

fn household_record_pb(h: &domain::HouseholdPeriod) -> pb::HouseholdRecord {
    pb::HouseholdRecord {
        membership: Some(membership_pb(&h.membership)),
        joined_on: date_pb(h.joined_on),
        left_on: opt_date_pb(h.left_on),
    }
}

pub(crate) fn difficulty_pb(d: &domain::Difficulty) -> pb::Difficulty {
    pb::Difficulty {
        categories: d.categories.iter().map(|c| difficulty_category_pb(*c)).collect(),
        valid_from: date_pb(d.valid.from),
        valid_to: date_pb(d.valid.to),
    }
}

pub(crate) fn placement_pb(p: &domain::Placement) -> pb::Placement {
    pb::Placement {
        kind: placement_kind_pb(p.kind),
        employer_credit_code: p.employer.as_ref().map(|c| c.as_str().to_string()).unwrap_or_default(),
        contract_months: p.contract_months,
    }
}

pub(crate) fn grant_pb(g: &domain::SubsidyGrant) -> pb::SubsidyGrant {
    use pb::payee::Payee as P;
    pb::SubsidyGrant {
        subsidy_id: g.subsidy_id.clone(),
        programme: g.programme.clone(),
        amount_fen: g.amount.get(),
        period_from: date_pb(g.period.from),
        period_to: date_pb(g.period.to),
        payee: Some(pb::Payee {
            payee: Some(match &g.payee {
                domain::Payee::Person => P::Person(true),
                domain::Payee::Enterprise(c) => P::EnterpriseCreditCode(c.as_str().to_string()),
                domain::Payee::TrainingProvider(p) => P::TrainingProvider(p.clone()),
            }),
        }),
        policy_clause: g.policy_clause.clone(),
    }
}

pub(crate) fn eligibility_pb(e: &domain::EligibilityFinding) -> pb::EligibilityFinding {
    pb::EligibilityFinding {
        rule_id: e.rule_id.clone(),
        rule_valid_from: date_pb(e.rule_valid_from),
        programme: e.programme.clone(),
        clause: e.clause.clone(),
        reasons: e.reasons.iter().map(reason_pb).collect(),
        amount_fen: e.amount.map(|a| a.get()),
    }
}

pub(crate) fn reason_pb(r: &domain::EligibilityReason) -> pb::EligibilityReason {
    pb::EligibilityReason { check: r.check.clone(), detail: r.detail.clone(), clause: r.clause.clone() }
}

/// What an accepted command wrote, as every command RPC answers it.
pub fn command_result(o: &crate::cases::CommandOutcome) -> leye_proto::common::v1::CommandResult {
    leye_proto::common::v1::CommandResult {
        case_id: o.case_id.to_string(),
        revision: o.revision,
        event_ids: o.event_ids.iter().map(Uuid::to_string).collect(),
        duplicate: o.duplicate,
        global_position: o.position,
    }
}

pub(crate) fn eligibility_record_pb(e: &domain::EligibilityRecord) -> pb::EligibilityRecord {
    pb::EligibilityRecord { finding: Some(eligibility_pb(&e.finding)), found_on: date_pb(e.found_on) }
}

/// The public event payload of a fact.
pub fn to_proto_event(fact: &PersonFact) -> pb::PersonEvent {
    use pb::person_event::Event as E;
    let event = match fact {
        PersonFact::Registered(r) => E::Registered(registration_pb(r)),
        PersonFact::DifficultyRecognised(d) => E::DifficultyRecognised(difficulty_pb(d)),
        PersonFact::Contacted(c) => E::Contacted(pb::Contact {
            channel: contact_channel_pb(c.channel),
            outcome: contact_outcome_pb(c.outcome),
            note: c.note.clone(),
        }),
        PersonFact::JobRecommended(j) => E::JobRecommended(pb::JobRecommendation {
            vacancy_id: j.vacancy_id.clone(),
            enterprise_credit_code: j.enterprise.as_ref().map(|c| c.as_str().to_string()).unwrap_or_default(),
            two_way: j.two_way,
        }),
        PersonFact::TrainingEnrolled(t) => E::TrainingEnrolled(pb::TrainingEnrolment {
            training_id: t.training_id.clone(),
            programme: training_programme_pb(t.programme),
            provider: t.provider.clone(),
        }),
        PersonFact::TrainingCompleted(t) => E::TrainingCompleted(pb::TrainingCompletion {
            training_id: t.training_id.clone(),
            certificate: t.certificate.clone().unwrap_or_default(),
        }),
        PersonFact::TrainingDropped(t) => {
            E::TrainingDropped(pb::TrainingDrop { training_id: t.training_id.clone(), reason: t.reason.clone() })
        }
        PersonFact::Placed(p) => E::Placed(placement_pb(p)),
        PersonFact::PlacementEnded(e) => {
            E::PlacementEnded(pb::PlacementEnd { reason: placement_end_reason_pb(e.reason) })
        }
        PersonFact::SubsidyProposed(p) => E::SubsidyProposed(subsidy::proposal_pb(p)),
        PersonFact::SubsidyApproved(a) => E::SubsidyApproved(subsidy::approval_pb(a)),
        PersonFact::SubsidyProposalRejected(r) => E::SubsidyProposalRejected(subsidy::rejection_pb(r)),
        PersonFact::SubsidyGranted(g) => E::SubsidyGranted(grant_pb(g)),
        PersonFact::SubsidyRevoked(r) => {
            E::SubsidyRevoked(pb::SubsidyRevocation { subsidy_id: r.subsidy_id.clone(), reason: r.reason.clone() })
        }
        PersonFact::BenefitStarted(b) => {
            E::BenefitStarted(pb::BenefitStart { months: b.months, extended_to_retirement: b.extended_to_retirement })
        }
        PersonFact::BenefitEnded(e) => E::BenefitEnded(pb::BenefitEnd { reason: benefit_end_reason_pb(e.reason) }),
        PersonFact::RegistrationExited(x) => {
            E::RegistrationExited(pb::RegistrationExit { reason: exit_reason_pb(x.reason) })
        }
        PersonFact::HouseholdJoined(m) => E::HouseholdJoined(membership_pb(m)),
        PersonFact::HouseholdLeft(l) => {
            E::HouseholdLeft(pb::HouseholdLeave { household_id: l.household_id.to_string() })
        }
        PersonFact::EligibilityFound(e) => E::EligibilityFound(eligibility_pb(e)),
        PersonFact::PersonalDataErased(e) => {
            E::PersonalDataErased(pb::PersonalDataErasure { ground: erasure_ground_pb(e.ground) })
        }
    };
    pb::PersonEvent { event: Some(event) }
}

pub(crate) fn subsidy_record_pb(s: &domain::SubsidyRecord) -> pb::SubsidyRecord {
    pb::SubsidyRecord {
        grant: Some(grant_pb(&s.grant)),
        granted_on: date_pb(s.granted_on),
        revoked_on: opt_date_pb(s.revoked_on),
        revoke_reason: s.revoke_reason.clone().unwrap_or_default(),
    }
}

/// The public envelope of a recorded event.
pub fn to_proto_metadata<E>(case_id: Uuid, r: &Recorded<E>) -> EventMetadata {
    EventMetadata {
        event_id: r.event_id.to_string(),
        event_type: r.event_type.clone(),
        schema_version: r.metadata.schema_version,
        case_id: case_id.to_string(),
        revision: r.revision,
        global_position: r.position.commit,
        command_id: r.metadata.command_id.to_string(),
        correlation_id: r.metadata.correlation_id.to_string(),
        causation_id: r.metadata.causation_id.to_string(),
        actor: r.metadata.actor.clone(),
        office: r.metadata.office.clone(),
        recorded_at: Some(prost_types::Timestamp {
            seconds: r.recorded_at.timestamp(),
            nanos: i32::try_from(r.recorded_at.timestamp_subsec_nanos()).unwrap_or(0),
        }),
        effective_date: date_pb(r.metadata.effective_date),
        actor_roles: r.metadata.actor_roles.clone(),
        authenticated_by: r.metadata.authenticated_by.clone(),
    }
}

/// The state of a case as the API shows it.
pub fn to_proto_case(view: &CaseView) -> pb::PersonCase {
    let case: &PersonCase = &view.case;
    let Some(file) = case.file() else {
        return pb::PersonCase { case_id: view.case_id.to_string(), revision: view.revision, ..Default::default() };
    };
    let id = &file.registration.resident_id;
    let status = match case.status() {
        Some(domain::CaseStatus::RegisteredUnemployed) => pb::CaseStatus::RegisteredUnemployed,
        Some(domain::CaseStatus::Placed) => pb::CaseStatus::Placed,
        Some(domain::CaseStatus::NotRegistered) => pb::CaseStatus::NotRegistered,
        None => pb::CaseStatus::Unspecified,
    };
    pb::PersonCase {
        case_id: view.case_id.to_string(),
        revision: view.revision,
        status: status as i32,
        registration: Some(registration_pb(&file.registration)),
        birth_date: date_pb(id.birth_date()),
        gender: match id.gender() {
            Gender::Male => pb::Gender::Male,
            Gender::Female => pb::Gender::Female,
        } as i32,
        age: id.age_on(view.reference_date),
        reference_date: date_pb(view.reference_date),
        spells: file
            .spells
            .iter()
            .map(|s| {
                let (ended_on, end, exit) = match s.ended {
                    None => (None, pb::SpellEnd::Unspecified, pb::ExitReason::Unspecified as i32),
                    Some((d, domain::SpellEnd::Placed)) => {
                        (Some(d), pb::SpellEnd::Placed, pb::ExitReason::Unspecified as i32)
                    }
                    Some((d, domain::SpellEnd::Exited(r))) => (Some(d), pb::SpellEnd::Exited, exit_reason_pb(r)),
                };
                pb::UnemploymentSpell {
                    registered_on: date_pb(s.registered_on),
                    ended_on: opt_date_pb(ended_on),
                    end: end as i32,
                    exit_reason: exit,
                }
            })
            .collect(),
        difficulties: file
            .difficulties
            .iter()
            .map(|d| pb::DifficultyRecord {
                difficulty: Some(difficulty_pb(&d.difficulty)),
                recognised_on: date_pb(d.recognised_on),
                special: d.special(),
            })
            .collect(),
        contact_count: file.contact_count,
        last_contact_on: opt_date_pb(file.last_contact_on),
        recommendation_count: file.recommendation_count,
        last_recommendation_on: opt_date_pb(file.last_recommendation_on),
        trainings: file
            .trainings
            .iter()
            .map(|t| pb::TrainingRecord {
                training_id: t.enrolment.training_id.clone(),
                programme: training_programme_pb(t.enrolment.programme),
                provider: t.enrolment.provider.clone(),
                enrolled_on: date_pb(t.enrolled_on),
                completed_on: opt_date_pb(t.completed.as_ref().map(|c| c.0)),
                dropped_on: opt_date_pb(t.dropped.as_ref().map(|d| d.0)),
                certificate: t.completed.as_ref().and_then(|c| c.1.clone()).unwrap_or_default(),
            })
            .collect(),
        placements: file
            .placements
            .iter()
            .map(|p| pb::PlacementRecord {
                placement: Some(placement_pb(&p.placement)),
                started_on: date_pb(p.started_on),
                ended_on: opt_date_pb(p.ended_on),
                end_reason: p.end_reason.map_or(0, placement_end_reason_pb),
            })
            .collect(),
        subsidies: file.subsidies.iter().map(subsidy_record_pb).collect(),
        benefits: file
            .benefits
            .iter()
            .map(|b| pb::BenefitRecord {
                benefit: Some(pb::BenefitStart {
                    months: b.benefit.months,
                    extended_to_retirement: b.benefit.extended_to_retirement,
                }),
                started_on: date_pb(b.started_on),
                ended_on: opt_date_pb(b.ended_on),
                end_reason: b.end_reason.map_or(0, benefit_end_reason_pb),
            })
            .collect(),
        current_household: file.current_household().map(household_record_pb),
        households: file.households.iter().map(household_record_pb).collect(),
        proposals: file.proposals.iter().map(subsidy::proposal_record_pb).collect(),
        // Derived from the policy catalogue by the adapter (grpc/person.rs).
        retirement: Vec::new(),
        eligibilities: file.eligibilities.iter().map(eligibility_record_pb).collect(),
        personal_data_erased_on: opt_date_pb(file.personal_data_erased),
    }
}
