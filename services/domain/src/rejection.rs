//! Why a decider refuses a command.

use std::fmt;

/// Stable, machine-readable rejection codes. The string forms are part of the
/// public contract (they appear as `google.rpc.ErrorInfo.reason`): never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionCode {
    /// The case does not exist (no registration ever recorded).
    CaseNotFound,
    /// The effective date lies after today (Beijing time).
    EffectiveDateInFuture,
    /// The effective date lies before the registration the fact belongs to.
    BeforeRegistration,
    /// A registration is already open for this person.
    AlreadyRegistered,
    /// The fact needs an open registration and there is none.
    NotRegistered,
    /// Registering while a placement is current: end the placement first.
    CurrentlyPlaced,
    /// A new registration dated before the previous spell or placement ended.
    BeforePreviousEnd,
    /// The person is under the minimum working age of 16 on the effective date.
    UnderWorkingAge,
    /// A difficulty category needs an age the person does not have.
    CategoryAgeMismatch,
    /// A placement is already current.
    AlreadyPlaced,
    /// No placement is current.
    NotPlaced,
    /// The date lies before the start of what it ends.
    BeforeStart,
    /// A training with this id already exists on the case.
    TrainingExists,
    /// No training with this id on the case.
    TrainingNotFound,
    /// The training was already completed or dropped.
    TrainingFinished,
    /// A subsidy with this id already exists on the case.
    SubsidyExists,
    /// No subsidy with this id on the case.
    SubsidyNotFound,
    /// The subsidy was already revoked.
    SubsidyAlreadyRevoked,
    /// Unemployment benefit is already running.
    BenefitRunning,
    /// No unemployment benefit is running.
    BenefitNotRunning,
    /// The command names a person other than the case's.
    ResidentIdMismatch,
    /// No subsidy proposal with this id on the case.
    ProposalNotFound,
    /// The proposal was already approved or rejected.
    ProposalDecided,
    /// Separation of duties: the proposer cannot review their own proposal.
    SelfReview,
    /// Reviewing proposals needs the supervisor role.
    NotSupervisor,
    /// Joining a household while a member of one: leave it first.
    AlreadyInHousehold,
    /// Leaving a household the person is not a member of.
    NotInHousehold,
    /// The personal data was already erased (and nobody registered since).
    AlreadyErased,
    /// A registration without the resident ID or the name.
    PersonalDataMissing,
    /// Eligibility under this rule is already noted on the case (政策找人).
    EligibilityAlreadyNoted,
    /// The registration was exited for death (000 § 20 动态退出): facts that need
    /// a living person are refused from that date on.
    Deceased,
    /// A third public-welfare-post placement: "累计安置不超过2次" (002 #38).
    WelfarePostLimit,
    /// An exit for "reached retirement age" dated before the statutory
    /// retirement date (domain.md §4.7). Checked by [`crate::person::check_retirement`].
    BeforeRetirementAge,
    /// A registration dated on or after the statutory retirement date:
    /// unemployment registration is for people of working age.
    PastRetirementAge,
}

impl RejectionCode {
    /// Every code, for documentation and exhaustive tests.
    pub const ALL: [RejectionCode; 34] = [
        Self::CaseNotFound,
        Self::EffectiveDateInFuture,
        Self::BeforeRegistration,
        Self::AlreadyRegistered,
        Self::NotRegistered,
        Self::CurrentlyPlaced,
        Self::BeforePreviousEnd,
        Self::UnderWorkingAge,
        Self::CategoryAgeMismatch,
        Self::AlreadyPlaced,
        Self::NotPlaced,
        Self::BeforeStart,
        Self::TrainingExists,
        Self::TrainingNotFound,
        Self::TrainingFinished,
        Self::SubsidyExists,
        Self::SubsidyNotFound,
        Self::SubsidyAlreadyRevoked,
        Self::BenefitRunning,
        Self::BenefitNotRunning,
        Self::ResidentIdMismatch,
        Self::AlreadyInHousehold,
        Self::NotInHousehold,
        Self::AlreadyErased,
        Self::PersonalDataMissing,
        Self::EligibilityAlreadyNoted,
        Self::ProposalNotFound,
        Self::ProposalDecided,
        Self::SelfReview,
        Self::NotSupervisor,
        Self::Deceased,
        Self::WelfarePostLimit,
        Self::BeforeRetirementAge,
        Self::PastRetirementAge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CaseNotFound => "CASE_NOT_FOUND",
            Self::EffectiveDateInFuture => "EFFECTIVE_DATE_IN_FUTURE",
            Self::BeforeRegistration => "BEFORE_REGISTRATION",
            Self::AlreadyRegistered => "ALREADY_REGISTERED",
            Self::NotRegistered => "NOT_REGISTERED",
            Self::CurrentlyPlaced => "CURRENTLY_PLACED",
            Self::BeforePreviousEnd => "BEFORE_PREVIOUS_END",
            Self::UnderWorkingAge => "UNDER_WORKING_AGE",
            Self::CategoryAgeMismatch => "CATEGORY_AGE_MISMATCH",
            Self::AlreadyPlaced => "ALREADY_PLACED",
            Self::NotPlaced => "NOT_PLACED",
            Self::BeforeStart => "BEFORE_START",
            Self::TrainingExists => "TRAINING_EXISTS",
            Self::TrainingNotFound => "TRAINING_NOT_FOUND",
            Self::TrainingFinished => "TRAINING_FINISHED",
            Self::SubsidyExists => "SUBSIDY_EXISTS",
            Self::SubsidyNotFound => "SUBSIDY_NOT_FOUND",
            Self::SubsidyAlreadyRevoked => "SUBSIDY_ALREADY_REVOKED",
            Self::BenefitRunning => "BENEFIT_RUNNING",
            Self::BenefitNotRunning => "BENEFIT_NOT_RUNNING",
            Self::ResidentIdMismatch => "RESIDENT_ID_MISMATCH",
            Self::ProposalNotFound => "PROPOSAL_NOT_FOUND",
            Self::ProposalDecided => "PROPOSAL_DECIDED",
            Self::SelfReview => "SELF_REVIEW",
            Self::NotSupervisor => "NOT_SUPERVISOR",
            Self::AlreadyInHousehold => "ALREADY_IN_HOUSEHOLD",
            Self::NotInHousehold => "NOT_IN_HOUSEHOLD",
            Self::AlreadyErased => "ALREADY_ERASED",
            Self::PersonalDataMissing => "PERSONAL_DATA_MISSING",
            Self::EligibilityAlreadyNoted => "ELIGIBILITY_ALREADY_NOTED",
            Self::Deceased => "DECEASED",
            Self::WelfarePostLimit => "WELFARE_POST_LIMIT",
            Self::BeforeRetirementAge => "BEFORE_RETIREMENT_AGE",
            Self::PastRetirementAge => "PAST_RETIREMENT_AGE",
        }
    }
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decider's refusal: a stable code, a text for people, and the request field
/// at fault when the refusal is about one field's value (then it is bad input,
/// not a state conflict). Texts never contain personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    pub code: RejectionCode,
    pub message: String,
    pub field: Option<&'static str>,
}

impl Rejection {
    pub fn new(code: RejectionCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None }
    }

    /// A refusal about the value of one request field.
    pub fn on_field(code: RejectionCode, field: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: Some(field) }
    }
}
