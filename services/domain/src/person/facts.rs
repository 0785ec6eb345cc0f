//! The facts a person case records (domain.md §2.1). Each is the payload of one
//! command and of the event it produces.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::{CountyCode, CreditCode, DateRange, Fen, PersonName, RegisteredId, Residence};

/// 户籍性质
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HukouNature {
    Urban,
    Rural,
}

/// 户籍
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hukou {
    pub county: CountyCode,
    pub nature: HukouNature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Education {
    PrimaryOrBelow,
    JuniorSecondary,
    SeniorSecondary,
    JuniorCollege,
    Bachelor,
    Master,
    Doctorate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graduation {
    pub year: i32,
    pub school: String,
    pub tianjin_school: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdRelation {
    Head,
    Spouse,
    Child,
    Parent,
    Other,
}

/// The household (家庭) a person belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdMembership {
    pub household_id: Uuid,
    pub relation: HouseholdRelation,
}

/// Leaving a household (家庭): names the household left, so that a command
/// meant for another household is refused rather than applied to the wrong one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdLeave {
    pub household_id: Uuid,
}

/// Groups a person can belong to (domain.md §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonGroup {
    /// 高校毕业生
    Graduate,
    /// 离校未就业高校毕业生
    GraduateUnemployedAfterSchool,
    /// 在津高校全日制在校生
    TianjinStudent,
    /// "海河英才"
    HaiheTalent,
    /// 农村劳动力
    RuralLabour,
    /// 困难村劳动力
    PoorVillageLabour,
    /// 农民工
    MigrantWorker,
    /// 返乡入乡人员
    ReturningFounder,
    /// 退役军人
    Veteran,
    /// 残疾人
    Disabled,
    /// 随军家属
    MilitarySpouse,
    /// 建档立卡贫困劳动力
    RegisteredPoorLabour,
    /// "上楼"农民
    RelocatedFarmer,
    /// 零就业家庭成员
    ZeroEmploymentHousehold,
    /// 低保家庭成员
    MinimumLivingAllowance,
    /// 低收入家庭成员
    LowIncomeFamily,
    /// 单亲家庭
    SingleParent,
    /// 赡养患重大疾病直系亲属
    SupportsSeriouslyIllRelative,
    /// 农村未继续升学初高中毕业生 (rural junior/senior secondary school leavers
    /// not going on to further study, 004 § 20)
    RuralSchoolLeaver,
}

/// 失业登记: the facts recorded when a person registers as unemployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// Sealed in the stored event; [`RegisteredId::Withheld`] without the key.
    pub resident_id: RegisteredId,
    /// Sealed in the stored event; `None` without the key.
    pub name: Option<PersonName>,
    pub hukou: Hukou,
    pub residence: Residence,
    pub education: Education,
    pub graduation: Option<Graduation>,
    pub household: Option<HouseholdMembership>,
    pub groups: BTreeSet<PersonGroup>,
}

/// Categories of employment difficulty (就业困难人员类别).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DifficultyCategory {
    ZeroEmploymentHousehold,
    SingleParentHousehold,
    MinimumLivingAllowanceHousehold,
    SupportsSeriouslyIllRelative,
    /// "4050": women 40+, men 50+.
    Age4050,
    /// Women 35+, men 45+ (002 #33).
    OlderWorker,
    Disabled,
    RegisteredPoorLabour,
    LongTermUnemployed,
    Other,
}

impl DifficultyCategory {
    /// The four categories of 特殊就业困难人员 (004 glossary 1).
    pub fn is_special(self) -> bool {
        matches!(
            self,
            Self::ZeroEmploymentHousehold
                | Self::SingleParentHousehold
                | Self::MinimumLivingAllowanceHousehold
                | Self::SupportsSeriouslyIllRelative
        )
    }
}

/// 就业困难人员认定
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difficulty {
    /// Non-empty.
    pub categories: BTreeSet<DifficultyCategory>,
    pub valid: DateRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    InPerson,
    Phone,
    HomeVisit,
    Online,
    Sms,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactOutcome {
    StillSeeking,
    FoundWork,
    NotSeeking,
    NotReached,
}

/// 跟踪服务
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub channel: ContactChannel,
    pub outcome: ContactOutcome,
    /// Up to 500 characters; may be empty.
    pub note: String,
}

/// 人岗推介
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecommendation {
    pub vacancy_id: String,
    pub enterprise: Option<CreditCode>,
    /// 双向推介: the person's profile was also sent to the employer.
    pub two_way: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingProgramme {
    /// 职业技能培训
    VocationalSkills,
    /// 创业培训 "马兰花"
    StartUpMalanhua,
    /// SIYB 改善你的企业
    ImproveYourBusiness,
    /// 线上职业技能培训
    OnlineVocational,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingEnrolment {
    pub training_id: String,
    pub programme: TrainingProgramme,
    pub provider: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingCompletion {
    pub training_id: String,
    pub certificate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingDrop {
    pub training_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlacementKind {
    /// 企业就业
    Enterprise,
    /// 灵活就业
    Flexible,
    /// 个体经营
    SelfEmployed,
    /// 创业
    StartUp,
    /// 公益性岗位
    PublicWelfarePost,
    /// 社区服务型岗位
    CommunityServicePost,
    /// 见习
    Internship,
}

impl PlacementKind {
    /// Kinds that always have an employing unit, whose credit code is required.
    pub fn needs_employer(self) -> bool {
        matches!(self, Self::Enterprise | Self::Internship | Self::PublicWelfarePost | Self::CommunityServicePost)
    }
}

/// 就业 / 再就业
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub kind: PlacementKind,
    pub employer: Option<CreditCode>,
    /// 1..=600 months; `None` for no fixed term or no contract.
    pub contract_months: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlacementEndReason {
    ContractExpired,
    Resigned,
    Dismissed,
    EmployerClosed,
    PostEnded,
    BusinessClosed,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementEnd {
    pub reason: PlacementEndReason,
}

/// Who receives a subsidy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payee {
    Person,
    Enterprise(CreditCode),
    TrainingProvider(String),
}

/// 补贴发放
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubsidyGrant {
    pub subsidy_id: String,
    pub programme: String,
    pub amount: Fen,
    pub period: DateRange,
    pub payee: Payee,
    pub policy_clause: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubsidyRevocation {
    pub subsidy_id: String,
    pub reason: String,
}

/// 失业保险金
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenefitStart {
    /// 1..=24 (失业保险条例 art. 17).
    pub months: u32,
    /// Continues to retirement age (000 § 24).
    pub extended_to_retirement: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenefitEndReason {
    Exhausted,
    Employed,
    Retired,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenefitEnd {
    pub reason: BenefitEndReason,
}

/// Reasons a registration is closed (动态退出, 000 § 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    Employed,
    ReachedRetirementAge,
    EnteredSchool,
    Enlisted,
    MovedAway,
    Deceased,
    NoLongerSeeking,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationExit {
    pub reason: ExitReason,
}

/// Under which ground of PIPL art. 47 personal data is erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureGround {
    /// The purpose is achieved or can no longer be achieved, or the data is no longer needed (47 (1)).
    PurposeAchieved,
    /// The service stopped, or the retention period expired (47 (2)).
    RetentionExpired,
    /// The person withdrew consent (47 (3)).
    ConsentWithdrawn,
    /// Processed in breach of laws or of an agreement (47 (4)).
    UnlawfulProcessing,
    /// Another ground provided by laws and regulations (47 (5)).
    Other,
}

/// 个人信息删除 (PIPL art. 47): the person's data key is destroyed, so the
/// resident ID and name of every registration on the case read as erased;
/// every other fact stays. Holds no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalDataErasure {
    pub ground: ErasureGround,
}

/// One check that makes a person eligible, with the clause it rests on.
/// `detail` states what was found (ages, months, dates, codes); never a name
/// or a resident ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EligibilityReason {
    /// The condition or limit checked, e.g. `placement_kinds`, `one_time`.
    pub check: String,
    pub detail: String,
    /// The source clause, e.g. `000 § 9`.
    pub clause: String,
}

/// 政策找人 (domain.md §5): the service found that the person meets a rule of
/// the policy catalogue whose programme the case has not received. Recorded
/// by the service itself (the eligibility finder), never by a caseworker;
/// the event's effective date is the day the rule was evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EligibilityFinding {
    /// The catalogue rule, e.g. `xiqing.hiring.one-time`. Noted once per case.
    pub rule_id: String,
    /// The version applied: the first day of its period.
    pub rule_valid_from: crate::Date,
    /// The programme a grant would be recorded under.
    pub programme: String,
    /// The rule's clause(s), e.g. `000 § 9`.
    pub clause: String,
    /// The checks that passed, each citing its clause.
    pub reasons: Vec<EligibilityReason>,
    /// The amount when the rule fixes it; `None` when it depends on a request.
    pub amount: Option<Fen>,
}
