//! The person (劳动者) case: one stream per person, several unemployment spells.
//!
//! # Rules (each holds by a test in `tests.rs`, named after its rejection code)
//! - At most one open registration at a time: a second is `ALREADY_REGISTERED`.
//! - A registration needs no current placement (`CURRENTLY_PLACED`), age ≥ 16 on
//!   its date (`UNDER_WORKING_AGE`, Labour Law art. 15), and a date not before the
//!   previous spell or placement ended (`BEFORE_PREVIOUS_END`).
//! - Every fact's effective date lies on or before today (`EFFECTIVE_DATE_IN_FUTURE`)
//!   and not before the registration it belongs to, the latest one
//!   (`BEFORE_REGISTRATION`); what ends something not before it started
//!   (`BEFORE_START`). A household leave is bound by its join only: a
//!   membership outlives a spell, so a move-out between two registrations
//!   can be recorded.
//! - Difficulty recognition, job recommendation, benefit start and exit need an
//!   open registration (`NOT_REGISTERED`); "4050" needs women 40+ / men 50+ and
//!   "older worker" women 35+ / men 45+ on the earlier of the recognition date
//!   and the first day of validity (`CATEGORY_AGE_MISMATCH`, field
//!   `difficulty.categories`; 002 #36, 004 § 11: the person as recognised).
//! - A placement closes the open spell (the person is re-employed); placing
//!   someone already placed is `ALREADY_PLACED`, ending a placement that does not
//!   exist `NOT_PLACED`. A third public-welfare-post placement is
//!   `WELFARE_POST_LIMIT` (field `placement.kind`; 002 #38 "累计安置不超过2次").
//! - After an exit for death (000 § 20, reason deceased), facts that need a
//!   living person and are dated on or after the exit are `DECEASED`:
//!   registration, recognition, contact, recommendation, training enrolment
//!   or completion, placement, benefit start, exit, joining a household,
//!   eligibility, and subsidies proposed or approved for the person. Erasure,
//!   subsidy revocation, rejecting a proposal, ending a benefit or a
//!   placement, dropping a training, leaving a household, and subsidies paid
//!   to an employer or provider stay possible. There is no correction fact.
//! - Statutory retirement age (domain.md §4.7) needs `leye-policy`'s dated
//!   tables, so [`decide`] does not check it; [`check_retirement`] holds the
//!   rules, given the person's [`RetirementDates`], and the gRPC edge runs it
//!   inside the case's turn: an exit for "reached retirement age" before the
//!   date is `BEFORE_RETIREMENT_AGE` (field `exit.reason`), a registration on
//!   or after it `PAST_RETIREMENT_AGE` (field `registration.resident_id`).
//!   For a woman of unknown post type the worker date bounds the exit and the
//!   cadre date the registration. Benefit "extended to retirement" (000 § 24,
//!   002 #65) is decided by the policy catalogue's rule
//!   `tianjin.benefit.extension-to-retirement` when the service starts a
//!   benefit (`POLICY_REFUSED`), not here.
//! - Subsidies are proposed and then approved or rejected by another user with
//!   the supervisor role (`crate::subsidy`): `PROPOSAL_NOT_FOUND`,
//!   `PROPOSAL_DECIDED`, `SELF_REVIEW`, `NOT_SUPERVISOR`; an approval grants.
//! - Trainings and subsidies are named by client-chosen ids, unique in the case:
//!   `TRAINING_EXISTS`, `TRAINING_NOT_FOUND`, `TRAINING_FINISHED`, `SUBSIDY_EXISTS`,
//!   `SUBSIDY_NOT_FOUND`, `SUBSIDY_ALREADY_REVOKED`.
//! - Benefit: one running at a time (`BENEFIT_RUNNING`), ending needs one
//!   (`BENEFIT_NOT_RUNNING`).
//! - Eligibility (政策找人) is noted at most once per rule and case
//!   (`ELIGIBILITY_ALREADY_NOTED`), not before the latest registration.
//! - Household (家庭) membership: one household at a time. A registration
//!   naming a household joins it on the registration date (or continues the
//!   membership when the person is already in that household); joining, by
//!   command or by a registration naming another household, while a member is
//!   `ALREADY_IN_HOUSEHOLD` (leave first); leaving a household the person is
//!   not in is `NOT_IN_HOUSEHOLD`; a leave dated before the join is
//!   `BEFORE_START`, a join dated before the previous leave
//!   `BEFORE_PREVIOUS_END`. Joining and leaving need the case to exist, not an
//!   open registration: membership outlives an unemployment spell.

mod facts;
mod state;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use facts::*;
pub use state::*;

use crate::{
    Date,
    rejection::{Rejection, RejectionCode as Code},
    subsidy::{
        self, ApproveProposal, RejectProposal, ReviewRefusal, SubsidyApproval, SubsidyProposal,
        SubsidyProposalRejection,
    },
};

/// What a caseworker or another system asks to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "command", content = "fact", rename_all = "snake_case")]
pub enum PersonCommand {
    RegisterUnemployment(Registration),
    RecogniseDifficulty(Difficulty),
    RecordContact(Contact),
    RecommendJob(JobRecommendation),
    EnrolTraining(TrainingEnrolment),
    CompleteTraining(TrainingCompletion),
    DropTraining(TrainingDrop),
    RecordPlacement(Placement),
    EndPlacement(PlacementEnd),
    /// Propose a subsidy evaluated against the catalogue (see [`crate::subsidy`]).
    ProposeSubsidy(SubsidyProposal),
    /// Approve a proposal: the subsidy is granted.
    ApproveSubsidy(ApproveProposal),
    RejectSubsidyProposal(RejectProposal),
    RevokeSubsidy(SubsidyRevocation),
    StartBenefit(BenefitStart),
    EndBenefit(BenefitEnd),
    ExitRegistration(RegistrationExit),
    JoinHousehold(HouseholdMembership),
    LeaveHousehold(HouseholdLeave),
    /// Sent by the service's eligibility finder only; not a public gRPC command.
    NoteEligibility(EligibilityFinding),
    /// Erase the person's personal data (the caller destroys the key).
    ErasePersonalData(PersonalDataErasure),
}

impl PersonCommand {
    /// A short stable name, for logs and summaries, e.g. `record_placement`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RegisterUnemployment(_) => "register_unemployment",
            Self::RecogniseDifficulty(_) => "recognise_difficulty",
            Self::RecordContact(_) => "record_contact",
            Self::RecommendJob(_) => "recommend_job",
            Self::EnrolTraining(_) => "enrol_training",
            Self::CompleteTraining(_) => "complete_training",
            Self::DropTraining(_) => "drop_training",
            Self::RecordPlacement(_) => "record_placement",
            Self::EndPlacement(_) => "end_placement",
            Self::ProposeSubsidy(_) => "propose_subsidy",
            Self::ApproveSubsidy(_) => "approve_subsidy",
            Self::RejectSubsidyProposal(_) => "reject_subsidy_proposal",
            Self::RevokeSubsidy(_) => "revoke_subsidy",
            Self::StartBenefit(_) => "start_benefit",
            Self::EndBenefit(_) => "end_benefit",
            Self::ExitRegistration(_) => "exit_registration",
            Self::NoteEligibility(_) => "note_eligibility",
            Self::JoinHousehold(_) => "join_household",
            Self::LeaveHousehold(_) => "leave_household",
            Self::ErasePersonalData(_) => "erase_personal_data",
        }
    }
}

/// A command with the date the fact happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatedCommand {
    pub effective_date: Date,
    pub command: PersonCommand,
}

/// What happened: the payload of one recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum PersonFact {
    Registered(Registration),
    DifficultyRecognised(Difficulty),
    Contacted(Contact),
    JobRecommended(JobRecommendation),
    TrainingEnrolled(TrainingEnrolment),
    TrainingCompleted(TrainingCompletion),
    TrainingDropped(TrainingDrop),
    Placed(Placement),
    PlacementEnded(PlacementEnd),
    /// A subsidy proposed, awaiting review.
    SubsidyProposed(SubsidyProposal),
    /// A proposal approved; `SubsidyGranted` follows in the same command.
    SubsidyApproved(SubsidyApproval),
    SubsidyProposalRejected(SubsidyProposalRejection),
    /// A subsidy granted (by approving its proposal): it counts from now.
    SubsidyGranted(SubsidyGrant),
    SubsidyRevoked(SubsidyRevocation),
    BenefitStarted(BenefitStart),
    BenefitEnded(BenefitEnd),
    RegistrationExited(RegistrationExit),
    /// Joined a household; the effective date is the first day of membership.
    HouseholdJoined(HouseholdMembership),
    /// Left a household; the effective date is the first day no longer a member.
    HouseholdLeft(HouseholdLeave),
    /// 政策找人: eligible for a programme not yet received (recorded by the service).
    EligibilityFound(EligibilityFinding),
    /// The person's personal data was erased (PIPL art. 47).
    PersonalDataErased(PersonalDataErasure),
}

/// One event of a person case: a fact and the date it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonEvent {
    pub effective_date: Date,
    #[serde(flatten)]
    pub fact: PersonFact,
}

/// Current schema version of every person event payload.
pub const SCHEMA_VERSION: u32 = 1;

impl PersonFact {
    /// Stable event type name, e.g. `person.registered`.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Registered(_) => "person.registered",
            Self::DifficultyRecognised(_) => "person.difficulty_recognised",
            Self::Contacted(_) => "person.contacted",
            Self::JobRecommended(_) => "person.job_recommended",
            Self::TrainingEnrolled(_) => "person.training_enrolled",
            Self::TrainingCompleted(_) => "person.training_completed",
            Self::TrainingDropped(_) => "person.training_dropped",
            Self::Placed(_) => "person.placed",
            Self::PlacementEnded(_) => "person.placement_ended",
            Self::SubsidyProposed(_) => "person.subsidy_proposed",
            Self::SubsidyApproved(_) => "person.subsidy_approved",
            Self::SubsidyProposalRejected(_) => "person.subsidy_proposal_rejected",
            Self::SubsidyGranted(_) => "person.subsidy_granted",
            Self::SubsidyRevoked(_) => "person.subsidy_revoked",
            Self::BenefitStarted(_) => "person.benefit_started",
            Self::BenefitEnded(_) => "person.benefit_ended",
            Self::RegistrationExited(_) => "person.registration_exited",
            Self::EligibilityFound(_) => "person.eligibility_found",
            Self::HouseholdJoined(_) => "person.household_joined",
            Self::HouseholdLeft(_) => "person.household_left",
            Self::PersonalDataErased(_) => "person.personal_data_erased",
        }
    }
}

pub use crate::envelope::{DecodeError, json_error};

impl PersonEvent {
    /// The stored payload (JSON).
    pub fn encode(&self) -> Vec<u8> {
        crate::envelope::encode_payload(self)
    }

    /// Reads a stored payload, upcasting older schema versions (none yet):
    /// straight into the fact's type when the payload is as the service
    /// writes it, else through serde's derive, with the same value or error
    /// (`crate::stored`).
    pub fn decode(event_type: &str, schema_version: u32, data: &[u8]) -> Result<Self, DecodeError> {
        crate::stored::person(event_type, schema_version, data)
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

/// Decides whether `cmd` may be recorded on `case`, and what happened.
/// `today` is the current date in Beijing time, passed in by the caller.
pub fn decide(case: &PersonCase, cmd: DatedCommand, today: Date) -> Result<Vec<PersonEvent>, Rejection> {
    let on = cmd.effective_date;
    if on > today {
        return Err(Rejection::on_field(
            Code::EffectiveDateInFuture,
            "effective_date",
            "the effective date lies in the future",
        ));
    }
    let fact = match (case.file(), cmd.command) {
        (None, PersonCommand::RegisterUnemployment(reg)) => register(None, reg, on)?,
        (None, _) => return Err(Rejection::new(Code::CaseNotFound, "no person case with this id")),
        (Some(file), PersonCommand::ApproveSubsidy(a)) => {
            refuse_after_death(file, &PersonCommand::ApproveSubsidy(a.clone()), on)?;
            let (approval, grant) = subsidy::decide_approval(&file.proposals, &a, on).map_err(review_refused)?;
            return Ok(vec![
                PersonEvent { effective_date: on, fact: PersonFact::SubsidyApproved(approval) },
                PersonEvent { effective_date: on, fact: PersonFact::SubsidyGranted(grant) },
            ]);
        }
        (Some(file), command) => decide_on_file(file, command, on)?,
    };
    Ok(vec![PersonEvent { effective_date: on, fact }])
}

fn register(file: Option<&PersonFile>, reg: Registration, on: Date) -> Result<PersonFact, Rejection> {
    if reg.resident_id.known().is_none() || reg.name.is_none() {
        return Err(Rejection::on_field(
            Code::PersonalDataMissing,
            "registration.resident_id",
            "a registration needs the resident ID and the name",
        ));
    }
    let age = reg.resident_id.age_on(on);
    if age < 16 {
        return Err(Rejection::new(
            Code::UnderWorkingAge,
            format!("the person is {age} on the registration date; the minimum working age is 16"),
        ));
    }
    if let Some(file) = file {
        // After an erasure the case keeps only the birth date and sex; the
        // case id (derived from the resident ID) already names this person.
        if !file.registration.resident_id.may_be(&reg.resident_id) {
            return Err(Rejection::new(Code::ResidentIdMismatch, "the case belongs to another resident ID"));
        }
        if let Some(spell) = file.open_spell() {
            return Err(Rejection::new(
                Code::AlreadyRegistered,
                format!("a registration is already open since {}", spell.registered_on),
            ));
        }
        if let Some(p) = file.current_placement() {
            return Err(Rejection::new(
                Code::CurrentlyPlaced,
                format!("the person is placed since {}; end the placement first", p.started_on),
            ));
        }
        if let Some(end) = file.last_end() {
            if on < end {
                return Err(Rejection::new(
                    Code::BeforePreviousEnd,
                    format!("the registration date lies before the previous spell or placement ended ({end})"),
                ));
            }
        }
        if let Some(named) = &reg.household {
            match file.current_household() {
                // Already a member of the household named: the membership continues.
                Some(current) if current.membership.household_id == named.household_id => {}
                Some(current) => return Err(already_in_household(current)),
                None => may_join(file, on)?,
            }
        }
    }
    Ok(PersonFact::Registered(reg))
}

fn already_in_household(current: &HouseholdPeriod) -> Rejection {
    Rejection::new(
        Code::AlreadyInHousehold,
        format!("the person is a member of another household since {}; leave it first", current.joined_on),
    )
}

/// A new membership may not start before the previous one ended.
fn may_join(file: &PersonFile, on: Date) -> Result<(), Rejection> {
    match file.households.last().and_then(|h| h.left_on) {
        Some(left) if on < left => Err(Rejection::new(
            Code::BeforePreviousEnd,
            format!("the person left their previous household on {left}; a new membership cannot start before"),
        )),
        _ => Ok(()),
    }
}

/// 002 #38: "可再次通过公益性岗位予以安置，累计安置不超过2次" (不超过 includes 2).
pub const MAX_PUBLIC_WELFARE_PLACEMENTS: usize = 2;

/// After an exit for death (000 § 20 动态退出, reason deceased) nothing that
/// needs a living person may be recorded on or after its date: `DECEASED`.
/// What stays possible winds the case down: erasing the personal data,
/// revoking a subsidy, rejecting a pending proposal, ending a running benefit,
/// dropping an open training, leaving a household, and subsidies paid to
/// someone else (an employer, a training provider) for what happened before.
/// There is no correction fact: a wrong death record cannot be undone here.
fn refuse_after_death(file: &PersonFile, command: &PersonCommand, on: Date) -> Result<(), Rejection> {
    let Some(died) = file.deceased_on().filter(|died| on >= *died) else {
        return Ok(());
    };
    let paid_to_person = |payee: Option<&Payee>| payee.is_none_or(|p| *p == Payee::Person);
    let needs_living = match command {
        PersonCommand::ErasePersonalData(_)
        | PersonCommand::RevokeSubsidy(_)
        | PersonCommand::RejectSubsidyProposal(_)
        | PersonCommand::EndBenefit(_)
        | PersonCommand::DropTraining(_)
        | PersonCommand::EndPlacement(_)
        | PersonCommand::LeaveHousehold(_) => false,
        PersonCommand::ProposeSubsidy(p) => paid_to_person(Some(&p.grant.payee)),
        PersonCommand::ApproveSubsidy(a) => paid_to_person(
            file.proposals
                .iter()
                .find(|r| r.proposal.grant.subsidy_id == a.proposal_id)
                .map(|r| &r.proposal.grant.payee),
        ),
        PersonCommand::RegisterUnemployment(_)
        | PersonCommand::RecogniseDifficulty(_)
        | PersonCommand::RecordContact(_)
        | PersonCommand::RecommendJob(_)
        | PersonCommand::EnrolTraining(_)
        | PersonCommand::CompleteTraining(_)
        | PersonCommand::RecordPlacement(_)
        | PersonCommand::StartBenefit(_)
        | PersonCommand::ExitRegistration(_)
        | PersonCommand::JoinHousehold(_)
        | PersonCommand::NoteEligibility(_) => true,
    };
    if needs_living {
        return Err(Rejection::new(
            Code::Deceased,
            format!(
                "the registration was exited for death on {died} (000 § 20); {} needs a living person",
                command.name()
            ),
        ));
    }
    Ok(())
}

fn decide_on_file(file: &PersonFile, command: PersonCommand, on: Date) -> Result<PersonFact, Rejection> {
    refuse_after_death(file, &command, on)?;
    let latest_registration = file.latest_spell().registered_on;
    let not_before_registration = || {
        if on < latest_registration {
            Err(Rejection::new(
                Code::BeforeRegistration,
                format!("the effective date lies before the registration of {latest_registration}"),
            ))
        } else {
            Ok(())
        }
    };
    let needs_open_spell = |what: &str| {
        if file.open_spell().is_none() {
            Err(Rejection::new(Code::NotRegistered, format!("{what} needs an open registration")))
        } else {
            Ok(())
        }
    };
    let not_before = |start: Date, what: &str| {
        if on < start {
            Err(Rejection::new(Code::BeforeStart, format!("the effective date lies before {what} ({start})")))
        } else {
            Ok(())
        }
    };

    Ok(match command {
        PersonCommand::RegisterUnemployment(reg) => register(Some(file), reg, on)?,
        PersonCommand::RecogniseDifficulty(d) => {
            needs_open_spell("recognising employment difficulty")?;
            not_before_registration()?;
            check_category_ages(file, &d, on)?;
            PersonFact::DifficultyRecognised(d)
        }
        PersonCommand::RecordContact(c) => {
            not_before_registration()?;
            PersonFact::Contacted(c)
        }
        PersonCommand::RecommendJob(r) => {
            needs_open_spell("a job recommendation")?;
            not_before_registration()?;
            PersonFact::JobRecommended(r)
        }
        PersonCommand::EnrolTraining(t) => {
            not_before_registration()?;
            if file.training(&t.training_id).is_some() {
                return Err(Rejection::new(
                    Code::TrainingExists,
                    "a training with this training_id is already on the case",
                ));
            }
            PersonFact::TrainingEnrolled(t)
        }
        PersonCommand::CompleteTraining(t) => {
            let training = open_training(file, &t.training_id)?;
            not_before(training.enrolled_on, "the enrolment")?;
            not_before_registration()?;
            PersonFact::TrainingCompleted(t)
        }
        PersonCommand::DropTraining(t) => {
            let training = open_training(file, &t.training_id)?;
            not_before(training.enrolled_on, "the enrolment")?;
            not_before_registration()?;
            PersonFact::TrainingDropped(t)
        }
        PersonCommand::RecordPlacement(p) => {
            not_before_registration()?;
            if let Some(current) = file.current_placement() {
                return Err(Rejection::new(
                    Code::AlreadyPlaced,
                    format!("the person is already placed since {}", current.started_on),
                ));
            }
            if let Some(previous_end) = file.placements.last().and_then(|p| p.ended_on) {
                not_before(previous_end, "the end of the previous placement")?;
            }
            let welfare = file.public_welfare_placements();
            if p.kind == PlacementKind::PublicWelfarePost && welfare >= MAX_PUBLIC_WELFARE_PLACEMENTS {
                return Err(Rejection::on_field(
                    Code::WelfarePostLimit,
                    "placement.kind",
                    format!(
                        "a person is placed in a public-welfare post at most {MAX_PUBLIC_WELFARE_PLACEMENTS} times \
                         in total, \"累计安置不超过2次\" (002 #38); the case already holds {welfare}"
                    ),
                ));
            }
            PersonFact::Placed(p)
        }
        PersonCommand::EndPlacement(e) => {
            let Some(current) = file.current_placement() else {
                return Err(Rejection::new(Code::NotPlaced, "the person has no current placement"));
            };
            not_before(current.started_on, "the start of the placement")?;
            PersonFact::PlacementEnded(e)
        }
        PersonCommand::ProposeSubsidy(p) => {
            not_before_registration()?;
            PersonFact::SubsidyProposed(
                subsidy::decide_proposal(&file.proposals, &file.subsidies, p).map_err(review_refused)?,
            )
        }
        PersonCommand::ApproveSubsidy(a) => {
            // Handled in `decide`: it records two facts.
            let (approval, _) = subsidy::decide_approval(&file.proposals, &a, on).map_err(review_refused)?;
            PersonFact::SubsidyApproved(approval)
        }
        PersonCommand::RejectSubsidyProposal(r) => PersonFact::SubsidyProposalRejected(
            subsidy::decide_rejection(&file.proposals, &r, on).map_err(review_refused)?,
        ),
        PersonCommand::RevokeSubsidy(r) => {
            let Some(subsidy) = file.subsidy(&r.subsidy_id) else {
                return Err(Rejection::new(Code::SubsidyNotFound, "no subsidy with this subsidy_id on the case"));
            };
            if let Some(revoked_on) = subsidy.revoked_on {
                return Err(Rejection::new(
                    Code::SubsidyAlreadyRevoked,
                    format!("the subsidy was revoked on {revoked_on}"),
                ));
            }
            not_before(subsidy.granted_on, "the grant")?;
            not_before_registration()?;
            PersonFact::SubsidyRevoked(r)
        }
        PersonCommand::StartBenefit(b) => {
            needs_open_spell("starting unemployment benefit")?;
            not_before_registration()?;
            if let Some(running) = file.running_benefit() {
                return Err(Rejection::new(
                    Code::BenefitRunning,
                    format!("unemployment benefit is running since {}", running.started_on),
                ));
            }
            PersonFact::BenefitStarted(b)
        }
        PersonCommand::EndBenefit(e) => {
            let Some(running) = file.running_benefit() else {
                return Err(Rejection::new(Code::BenefitNotRunning, "no unemployment benefit is running"));
            };
            not_before(running.started_on, "the start of the benefit")?;
            not_before_registration()?;
            PersonFact::BenefitEnded(e)
        }
        PersonCommand::ExitRegistration(x) => {
            needs_open_spell("exiting")?;
            not_before_registration()?;
            PersonFact::RegistrationExited(x)
        }
        PersonCommand::NoteEligibility(e) => {
            not_before_registration()?;
            if let Some(noted) = file.eligibility(&e.rule_id) {
                return Err(Rejection::new(
                    Code::EligibilityAlreadyNoted,
                    format!("eligibility under this rule was already noted on {}", noted.found_on),
                ));
            }
            PersonFact::EligibilityFound(e)
        }
        PersonCommand::JoinHousehold(m) => {
            not_before_registration()?;
            if let Some(current) = file.current_household() {
                return Err(already_in_household(current));
            }
            may_join(file, on)?;
            PersonFact::HouseholdJoined(m)
        }
        PersonCommand::LeaveHousehold(l) => {
            let Some(current) = file.current_household().filter(|h| h.membership.household_id == l.household_id) else {
                return Err(Rejection::new(Code::NotInHousehold, "the person is not a member of this household"));
            };
            // A membership outlives a spell (README): a move-out may fall
            // between two registrations; only the join bounds it.
            not_before(current.joined_on, "joining the household")?;
            PersonFact::HouseholdLeft(l)
        }
        PersonCommand::ErasePersonalData(e) => {
            if let Some(erased_on) = file.personal_data_erased {
                return Err(Rejection::new(
                    Code::AlreadyErased,
                    format!("the personal data was erased on {erased_on} and nobody registered since"),
                ));
            }
            not_before_registration()?;
            PersonFact::PersonalDataErased(e)
        }
    })
}

fn open_training<'a>(file: &'a PersonFile, training_id: &str) -> Result<&'a TrainingRecord, Rejection> {
    let Some(training) = file.training(training_id) else {
        return Err(Rejection::new(Code::TrainingNotFound, "no training with this training_id on the case"));
    };
    if let Some(finished) = training.finished_on() {
        return Err(Rejection::new(Code::TrainingFinished, format!("the training already finished on {finished}")));
    }
    Ok(training)
}

/// The age categories describe the person as recognised (就业困难人员认定, 002 #36,
/// 004 § 11 "其他女年满40周岁、男年满50周岁的就业困难人员"): the age must be held
/// on the recognition date and on the first day of validity, so it is judged
/// on the earlier of the two. A validity starting after the recognition (a
/// deferred start) is not refused, but cannot carry an age reached only later.
fn check_category_ages(file: &PersonFile, d: &Difficulty, on: Date) -> Result<(), Rejection> {
    let id = &file.registration.resident_id;
    let (judged_on, which) =
        if d.valid.from <= on { (d.valid.from, "valid_from") } else { (on, "the recognition date") };
    let age = id.age_on(judged_on);
    let female = id.gender() == crate::values::Gender::Female;
    for (category, women, men, label) in
        [(DifficultyCategory::Age4050, 40, 50, "4050"), (DifficultyCategory::OlderWorker, 35, 45, "older worker")]
    {
        let needed = if female { women } else { men };
        if d.categories.contains(&category) && age < needed {
            return Err(Rejection::on_field(
                Code::CategoryAgeMismatch,
                "difficulty.categories",
                format!("category {label} needs women {women}+ / men {men}+; the person is {age} on {which}"),
            ));
        }
    }
    Ok(())
}

/// The statutory retirement date (法定退休年龄, domain.md §4.7) of a person, as
/// far as it is known. The dated tables live in `leye-policy`, so the caller
/// computes it from the birth date and sex (and, for women, the post type,
/// when known). For a woman whose post type is unknown `earliest` is the
/// date as a worker and `latest` as a cadre; otherwise both are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetirementDates {
    pub earliest: Date,
    pub latest: Date,
}

impl RetirementDates {
    /// One known date.
    pub fn exactly(on: Date) -> Self {
        Self { earliest: on, latest: on }
    }
}

/// The retirement-age rules, which [`decide`] cannot check alone (it has no
/// retirement tables): the caller runs this before `decide` with the
/// person's [`RetirementDates`].
/// - An exit for "reached retirement age" (000 § 20 动态退出) dated before the
///   earliest possible retirement date is `BEFORE_RETIREMENT_AGE` (field
///   `exit.reason`): the reason is false.
/// - A registration dated on or after the latest possible retirement date is
///   `PAST_RETIREMENT_AGE` (field `registration.resident_id`, whose birth date
///   decides): unemployment registration is for people of working age.
///
/// With the post type unknown the check gives the person the benefit of the
/// doubt. The texts name no date: the retirement date tells the birth date.
pub fn check_retirement(command: &PersonCommand, on: Date, retirement: RetirementDates) -> Result<(), Rejection> {
    match command {
        PersonCommand::ExitRegistration(RegistrationExit { reason: ExitReason::ReachedRetirementAge })
            if on < retirement.earliest =>
        {
            Err(Rejection::on_field(
                Code::BeforeRetirementAge,
                "exit.reason",
                "the exit date lies before the person's statutory retirement date (domain.md §4.7); \
                 choose another exit reason",
            ))
        }
        PersonCommand::RegisterUnemployment(_) if on >= retirement.latest => Err(Rejection::on_field(
            Code::PastRetirementAge,
            "registration.resident_id",
            "the registration date lies on or after the person's statutory retirement date (domain.md §4.7); \
             unemployment registration is for people of working age",
        )),
        _ => Ok(()),
    }
}

/// Folds one event into the case. Total: an event that cannot apply (never
/// produced by `decide`) leaves the case as it was.
pub fn evolve(mut case: PersonCase, event: &PersonEvent) -> PersonCase {
    case.apply(event);
    case
}

/// A refused review, as the person case's rejection.
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
