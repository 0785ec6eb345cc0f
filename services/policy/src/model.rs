//! The catalogue's data types, as written in `policies/*.toml`.
//!
//! Every struct here is deserialised with `deny_unknown_fields`: a misspelt key
//! is an error, never silently ignored. Enum values are `snake_case` names
//! (`migrant_worker`, `public_welfare_post`); an unknown name is an error.
//! Semantic checks (amounts > 0, periods, references) follow in
//! [`crate::catalogue`]; a value of these types held by a loaded
//! [`crate::Catalogue`] has passed them.

use std::collections::BTreeMap;

use leye_domain::{
    Date,
    person::{DifficultyCategory, PersonGroup, PlacementKind, TrainingProgramme},
    values::DistrictCode,
};
use serde::{Deserialize, Deserializer};

use crate::dates::YearMonth;

// === dates in TOML ===

/// Reads a TOML local date (`2020-05-18`, unquoted). A time or offset is refused.
pub(crate) fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let dt = toml::value::Datetime::deserialize(d)?;
    toml_date(&dt).map_err(serde::de::Error::custom)
}

pub(crate) fn de_opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
    de_date(d).map(Some)
}

fn toml_date(dt: &toml::value::Datetime) -> Result<Date, String> {
    match (dt.date, dt.time, dt.offset) {
        (Some(date), None, None) => {
            Date::from_ymd_opt(i32::from(date.year), u32::from(date.month), u32::from(date.day))
                .ok_or_else(|| "must be a real calendar date".to_string())
        }
        _ => Err("must be a local date YYYY-MM-DD without time".to_string()),
    }
}

// === shares ===

/// A share such as `"2/3"` or `"80%"`: `num / den`, both positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub num: u32,
    pub den: u32,
}

impl Share {
    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim();
        let (num, den) = if let Some(p) = s.strip_suffix('%') {
            (p.trim().parse().ok()?, 100)
        } else {
            let (n, d) = s.split_once('/')?;
            (n.trim().parse().ok()?, d.trim().parse().ok()?)
        };
        (num > 0 && den > 0).then_some(Self { num, den })
    }

    /// `amount × num / den`, rounded down to the fen (never pays more than the share).
    pub fn of(self, amount: i64) -> i64 {
        let v = i128::from(amount) * i128::from(self.num) / i128::from(self.den);
        i64::try_from(v).unwrap_or(i64::MAX)
    }

    /// Is this share greater than `a / b` (i.e. `a/b < num/den`)?
    pub fn greater_than_ratio(self, a: u64, b: u64) -> bool {
        u128::from(a) * u128::from(self.den) < u128::from(self.num) * u128::from(b)
    }
}

impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.den == 100 { write!(f, "{}%", self.num) } else { write!(f, "{}/{}", self.num, self.den) }
    }
}

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Share::parse(&s)
            .ok_or_else(|| serde::de::Error::custom("must be a share like \"2/3\" or \"80%\", both parts > 0"))
    }
}

/// A calendar month `"YYYY-MM"` in the catalogue.
impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        YearMonth::parse(&s).ok_or_else(|| serde::de::Error::custom("must be a month \"YYYY-MM\""))
    }
}

// === enumerations ===

/// Whose case records the grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// The grant concerns one person (e.g. a hiring subsidy per person hired).
    Person,
    /// The grant concerns an enterprise as a whole (e.g. stability refund).
    Enterprise,
}

/// Who receives the money (domain `Payee` without the identifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayeeKind {
    Person,
    Enterprise,
    TrainingProvider,
}

impl PayeeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Enterprise => "enterprise",
            Self::TrainingProvider => "training_provider",
        }
    }
}

/// What a grant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nature {
    /// Money paid out.
    #[default]
    Payment,
    /// An amount deducted from assessed family income (核定家庭收入时扣减), not paid.
    IncomeDisregard,
    /// A right without an amount (e.g. unemployment benefit continued to retirement).
    Entitlement,
}

/// A requirement on the person's recognised employment difficulty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DifficultyRequirement {
    /// Any recognised difficulty (就业困难人员) valid on the date.
    Any,
    /// One of the four special categories (特殊就业困难人员, 004 glossary 1).
    Special,
    /// A difficulty, but none of the special categories ("其他就业困难人员").
    NotSpecial,
}

/// Kinds of enterprise a rule may name. The enterprise case maps its own kinds
/// onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnterpriseKind {
    /// 小微企业
    SmallMicro,
    /// 中型企业 (with small/micro: 中小微企业)
    Medium,
    /// 初创期科技型中小企业
    EarlyStageTech,
    /// 大学生创业企业
    GraduateStartUp,
    /// 养老服务企业（含民办非企业单位）
    ElderlyCare,
    /// 员工制家政服务企业
    EmployeeDomesticService,
    /// 人力资源服务机构
    HrAgency,
    /// 职业院校（含技工院校）
    VocationalSchool,
    /// 创业培训机构 / 职业培训机构
    TrainingProvider,
    /// 天津市创业孵化基地 (recognised incubator)
    Incubator,
    /// 用人单位 hosting public-welfare posts
    PublicEmployer,
}

/// Facts a caseworker attests to, which the case data does not hold. Each names
/// the seed's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attestation {
    /// 按规定缴纳社会保险
    SocialInsurancePaid,
    /// 首次创办企业
    FirstBusiness,
    /// 经营稳定 / 正常经营
    BusinessOperatingNormally,
    /// 领取失业保险金期满
    BenefitExhausted,
    /// 首次就业 (of a member of a minimum-allowance / low-income family)
    FirstJob,
    /// 见习期满留用
    RetainedAfterInternship,
    /// 在个人窗口缴费
    PaysAtIndividualWindow,
    /// 取得学历
    DegreeObtained,
    /// 取得职称
    ProfessionalTitleObtained,
    /// 取得技能证书
    SkillCertificateObtained,
    /// 举办小型招聘会
    SmallJobFairHeld,
    /// 举办大型招聘会
    LargeJobFairHeld,
    /// 被评为国家级创业孵化示范基地
    NationalDemonstrationBase,
    /// 被评为市级创业孵化示范基地
    MunicipalDemonstrationBase,
    /// 大学生创办在孵企业占50%以上
    StudentTenantsHalfOrMore,
    /// 向重点缺工企业一次性输送
    SentToKeyShortStaffedEnterprise,
    /// 签订1年以上劳动合同 (every person sent)
    SentOnContractsOfOneYear,
    /// 就业或实习3个月以上 (every person sent)
    SentForThreeMonths,
    /// 带动就业效果明显
    StrongJobCreator,
    /// 市场渠道难以就业
    HardToPlaceThroughMarket,
    /// 线上职业技能培训 completed by the employee
    OnlineTrainingCompleted,
    /// 外省市重点高校学生 (an intern from a key university outside Tianjin, 002 #29)
    OutOfProvinceKeyUniversityStudent,
    /// 经认定的市级人力资源服务产业园 (000 § 23)
    MunicipalHrIndustrialPark,
    /// 经认定的国家级人力资源服务产业园 (000 § 23)
    NationalHrIndustrialPark,
    /// 海河英才创新创业大赛获奖 (the person or project won an award, 004 § 18)
    HaiheContestAwardWon,
    /// 举办创业大赛 (an industry system of the district held a contest, 004 § 18)
    StartUpContestHeld,
}

/// Which date decides the version of a rule in force: the date of the fact the
/// programme rewards (the hire, the training, the business registration, the
/// loan), not the date the grant is decided (domain §4: a 2020 hire decided in
/// January 2021 is still under a programme that ran to 2020-12-31).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InForceBy {
    /// The grant's own date (yearly refunds, attested achievements, periodic
    /// subsidies for an ongoing status).
    #[default]
    GrantDate,
    /// The start of the placement the grant concerns (招用, 吸纳, 安置, 就业).
    PlacementStart,
    /// The completion of the training the rule names (培训后…).
    TrainingCompletion,
    /// The registration of the person's business (营业执照, 注册).
    BusinessRegistration,
    /// The loan's contract date (贷款合同签订日).
    LoanContract,
    /// The person's unemployment registration (登记失业): the programme applies
    /// when a registration was open on some day of the version's period, and
    /// is judged on the last such day up to the grant's date.
    Registration,
}

impl InForceBy {
    /// The fact, in words, for decisions.
    pub fn describe(self) -> &'static str {
        match self {
            Self::GrantDate => "the grant's date",
            Self::PlacementStart => "the placement's start (the hire)",
            Self::TrainingCompletion => "the training's completion",
            Self::BusinessRegistration => "the business's registration",
            Self::LoanContract => "the loan's contract date",
            Self::Registration => "the last day of the unemployment registration within the programme",
        }
    }
}

/// What a share-of-base amount is a share of; the request carries the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseKind {
    /// Social-insurance premiums actually paid for the period.
    PremiumsPaid,
    /// Unemployment-insurance contributions paid by enterprise and staff last year.
    LastYearUnemploymentContributions,
    /// The standard training subsidy of the course (补贴标准).
    TrainingStandard,
    /// A municipal standard amount the seeds do not state (e.g. 岗位补贴); the
    /// request states it and the rule is marked `verify`.
    MunicipalStandard,
}

impl BaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PremiumsPaid => "premiums paid",
            Self::LastYearUnemploymentContributions => "last year's unemployment-insurance contributions",
            Self::TrainingStandard => "the standard training subsidy",
            Self::MunicipalStandard => "the municipal standard amount",
        }
    }
}

/// For women, the statutory retirement age depends on the post (原法定退休年龄).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PostType {
    /// 女职工 (originally 50)
    Worker,
    /// 女干部 / 管理技术岗位 (originally 55)
    Cadre,
}

// === jurisdiction ===

/// Where a rule applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Jurisdiction {
    /// Tianjin municipality: applies in every district.
    #[default]
    City,
    District(DistrictCode),
}

impl Jurisdiction {
    /// Does a rule of this jurisdiction apply in `district`?
    pub fn covers(&self, district: &DistrictCode) -> bool {
        match self {
            Self::City => true,
            Self::District(d) => d == district,
        }
    }
}

impl std::fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::City => f.write_str("Tianjin (city-wide)"),
            Self::District(d) => write!(f, "district {}", d.as_str()),
        }
    }
}

/// The `[jurisdiction]` table of a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionHeader {
    /// Rule ids in the file start with `key.`.
    pub key: String,
    /// GB/T 2260 code; absent for the city.
    #[serde(default)]
    pub district: Option<DistrictCode>,
    pub name: String,
}

/// A source document (`[[document]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// The seed's number, e.g. `"000"`; clauses cite it (`"000 § 9"`).
    pub code: String,
    pub title: String,
    #[serde(default, deserialize_with = "de_opt_date")]
    pub issued: Option<Date>,
    #[serde(default)]
    pub note: Option<String>,
}

// === rules ===

/// One version of a rule (`[[rule]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id, `<jurisdiction key>.<area>.<name>`; versions share it.
    pub id: String,
    /// Programme code as recorded on a grant (`SubsidyGrant.programme`).
    pub programme: String,
    pub title: String,
    /// Source clause(s), e.g. `"000 § 9"` or `"001 § 3; 000 § 10"`.
    pub source: String,
    #[serde(deserialize_with = "de_date")]
    pub valid_from: Date,
    /// Inclusive; absent: open-ended.
    #[serde(default, deserialize_with = "de_opt_date")]
    pub valid_to: Option<Date>,
    /// Which date decides the version in force (default: the grant's date).
    #[serde(default)]
    pub in_force_by: InForceBy,
    /// City rules this district rule stands in for in its district while it is
    /// in force: the district restates a municipal programme with conditions
    /// of its own (e.g. 在本区注册经营), so the municipal rule does not apply
    /// there beside it. Explicit: nothing overrides implicitly.
    #[serde(default)]
    pub replaces: Vec<String>,
    /// Programme codes grants of this programme were recorded under before
    /// (a district restatement moved to the city): such grants count as this
    /// programme's for one-time, cumulative, exclusion and top-up limits.
    #[serde(default)]
    pub formerly: Vec<String>,
    pub subject: Subject,
    pub payee: PayeeKind,
    #[serde(default)]
    pub nature: Nature,
    pub amount: AmountRule,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub eligible: Conditions,
    /// The seed's wording behind a threshold, keyed by the condition's name.
    #[serde(default)]
    pub wording: BTreeMap<String, String>,
    /// A figure or reading that the bureau must confirm.
    #[serde(default)]
    pub verify: bool,
    #[serde(default)]
    pub note: Option<String>,
    /// Set from the file's `[jurisdiction]`.
    #[serde(skip)]
    pub jurisdiction: Jurisdiction,
    /// The file the rule came from (for messages).
    #[serde(skip)]
    pub file: String,
}

impl Rule {
    /// Is this version in force on `date`?
    pub fn in_force_on(&self, date: Date) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date <= to)
    }

    /// Does the rule count months (a periodic subsidy)?
    pub fn is_periodic(&self) -> bool {
        matches!(self.amount, AmountRule::PerMonth { .. } | AmountRule::PerMonthShareOfParameter { .. })
            || self.limits.max_months.is_some()
            || self.limits.cumulative_months.is_some()
    }
}

/// How much may be granted. Every kind is a cap: a grant may be proposed lower,
/// never higher.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AmountRule {
    /// A standard amount (按每人…元的标准).
    Fixed { fen: i64 },
    /// At most this amount (最高…元).
    UpTo { fen: i64 },
    /// Per month of the period: `fen` (+ `per_employee_fen` per employee of the
    /// business, at most `max_per_month_fen`).
    PerMonth {
        fen: i64,
        #[serde(default)]
        per_employee_fen: Option<i64>,
        #[serde(default)]
        max_per_month_fen: Option<i64>,
    },
    /// Per month: `share` of a dated parameter's value in that month.
    PerMonthShareOfParameter { parameter: String, share: Share },
    /// `share` of a base the request states (premiums paid, …).
    ShareOfBase { base: BaseKind, share: Share },
    /// `fen` per unit (person sent, new job, tenant); the request states the units.
    PerUnit { fen: i64 },
    /// Interest subsidy: `share` of the dated rate `parameter` (in basis points) on
    /// the loan's principal for its months; principal and months capped.
    InterestSubsidy { parameter: String, share: Share, max_principal_fen: i64, max_months: u32 },
    /// No amount (an entitlement).
    None,
}

/// Limits across grants (`[rule.limits]`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// One-time (一次性): at most one grant of the programme per case.
    #[serde(default)]
    pub one_time: bool,
    /// At most this many grants of the programme per case (e.g. 3 loans).
    #[serde(default)]
    pub max_grants: Option<u32>,
    /// At most this many months in one grant (最长 N 年).
    #[serde(default)]
    pub max_months: Option<u32>,
    /// At most this many months over all grants of the programme.
    #[serde(default)]
    pub cumulative_months: Option<u32>,
    /// Count `cumulative_months` per placement: only grants whose period starts
    /// on or after the current placement began (a second public-welfare
    /// placement has its own subsidy period).
    #[serde(default)]
    pub cumulative_per_placement: bool,
    /// The period starts in the month the placement started (自就业当月起).
    #[serde(default)]
    pub period_from_placement_month: bool,
    /// Month limits give way, up to the month of retirement, when the person is
    /// less than this many years from retirement age at the start of the period
    /// (距法定退休年龄不足5年的可延长至退休).
    #[serde(default)]
    pub extend_to_retirement_within_years: Option<u32>,
    /// At most this many public-welfare placements in total, this one included
    /// (累计安置不超过2次).
    #[serde(default)]
    pub max_public_welfare_placements: Option<u32>,
    /// A grant of any of these programmes rules this one out.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Programmes whose months count towards `cumulative_months` too, and whose
    /// periods this one's must not overlap: two subsidies of one kind under
    /// one ceiling (社保补贴期限一般不超过3年 over the 3-year and the 1-year
    /// social-insurance subsidies).
    #[serde(default)]
    pub cumulative_with: Vec<String>,
    /// When these groups hold and the difficulty was recognised again after the
    /// last grant, cumulative months count afresh (重新认定…继续申请).
    #[serde(default)]
    pub renewal: Option<Renewal>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Renewal {
    #[serde(default)]
    pub groups_all: Vec<PersonGroup>,
    #[serde(default)]
    pub groups_any: Vec<PersonGroup>,
}

/// Age thresholds by sex (年满 N 周岁).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeBySex {
    pub female: u32,
    pub male: u32,
}

/// 不裁员或裁员率低于…控制目标; small enterprises: up to a fixed rate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoffRule {
    /// The layoff rate must be below this dated parameter (basis points).
    pub below_parameter: String,
    /// Enterprises with at most this many insured staff …
    pub small_max_employees: u32,
    /// … may lay off up to this share (inclusive).
    pub small_max_rate: Share,
}

/// New hires this year reaching a share of current staff (达到…20%).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewHiresRule {
    pub min_share: Share,
    /// From this many staff (100人以上, inclusive) the lower share applies.
    pub large_from_employees: u32,
    pub large_min_share: Share,
    /// Count only new hires with the district's hukou.
    #[serde(default)]
    pub local_hukou_only: bool,
}

/// Eligibility (`[rule.eligible]`): every condition given must hold, and when
/// `any_of` is given, at least one of its alternatives.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Belongs to at least one of these groups.
    #[serde(default)]
    pub groups_any: Vec<PersonGroup>,
    /// Belongs to all of these groups.
    #[serde(default)]
    pub groups_all: Vec<PersonGroup>,
    #[serde(default)]
    pub difficulty: Option<DifficultyRequirement>,
    /// A difficulty valid on the date with one of these categories.
    #[serde(default)]
    pub difficulty_categories_any: Vec<DifficultyCategory>,
    /// 年满 N 周岁 on the date (inclusive).
    #[serde(default)]
    pub min_age: Option<AgeBySex>,
    /// Hukou in this district.
    #[serde(default)]
    pub hukou_district: Option<DistrictCode>,
    /// Tianjin hukou (本市户籍).
    #[serde(default)]
    pub hukou_tianjin: bool,
    /// 本市高校毕业生: of Tianjin origin or from a Tianjin school.
    #[serde(default)]
    pub tianjin_graduate: bool,
    /// Graduated at most this many months before the date (毕业N年内, inclusive).
    #[serde(default)]
    pub max_months_since_graduation: Option<u32>,
    /// 应届: graduated in the calendar year of the date.
    #[serde(default)]
    pub graduated_this_year: bool,
    /// A registration open on the date (登记失业).
    #[serde(default)]
    pub registered_unemployed: bool,
    /// The latest spell lasted at least this many full months, up to its end
    /// (the placement) or the date (登记失业半年以上).
    #[serde(default)]
    pub min_months_registered_unemployed: Option<u32>,
    /// The placement is of one of these kinds.
    #[serde(default)]
    pub placement_kinds: Vec<PlacementKind>,
    #[serde(default)]
    pub min_contract_months: Option<u32>,
    /// Full months in the placement by the date (履行合同满6个月).
    #[serde(default)]
    pub min_months_employed: Option<u32>,
    /// Still in the placement on the date (继续履行合同).
    #[serde(default)]
    pub still_employed: bool,
    /// Months of social insurance paid (缴纳社会保险费满3个月).
    #[serde(default)]
    pub min_insured_months: Option<u32>,
    /// Less than N years to statutory retirement age on the date (不足N年).
    #[serde(default)]
    pub within_years_of_retirement: Option<u32>,
    /// No earlier public-welfare placement (the first 安置).
    #[serde(default)]
    pub first_public_welfare_placement: bool,
    /// The subsidy of the earlier placement ran its full term before the
    /// current placement began: the programme's months granted before it
    /// reach `cumulative_months` (补贴期满仍难以…就业的…可再次安置).
    #[serde(default)]
    pub prior_placement_subsidy_expired: bool,
    /// Completed one of these trainings with a certificate.
    #[serde(default)]
    pub training_completed: Vec<TrainingProgramme>,
    /// A business registered within N months after completing that training (半年内).
    #[serde(default)]
    pub max_months_training_to_business: Option<u32>,
    /// The date lies within N months after completing that training (一年内).
    #[serde(default)]
    pub max_months_since_training: Option<u32>,
    /// The business has operated at least N full months (正常经营满1年).
    #[serde(default)]
    pub min_business_operating_months: Option<u32>,
    /// The date lies within N months of the business's registration (注册1年内).
    #[serde(default)]
    pub max_months_since_business_registration: Option<u32>,
    /// The business employs at least N people (带动1人以上就业).
    #[serde(default)]
    pub min_business_employees: Option<u32>,
    /// The person's business is registered in this district (在本区创业).
    #[serde(default)]
    pub business_district: Option<DistrictCode>,
    /// Facts the caseworker attests.
    #[serde(default)]
    pub attested: Vec<Attestation>,
    /// An earlier grant of one of these programmes (a top-up needs its base grant).
    #[serde(default)]
    pub requires_grant: Vec<String>,
    #[serde(default)]
    pub enterprise_kinds_any: Vec<EnterpriseKind>,
    #[serde(default)]
    pub enterprise_kinds_none: Vec<EnterpriseKind>,
    /// The enterprise is registered in this district (本区企业).
    #[serde(default)]
    pub enterprise_district: Option<DistrictCode>,
    /// The enterprise has paid unemployment insurance at least N months (满12个月).
    #[serde(default)]
    pub enterprise_min_insured_months: Option<u32>,
    #[serde(default)]
    pub layoffs: Option<LayoffRule>,
    #[serde(default)]
    pub new_hires: Option<NewHiresRule>,
    /// The request's units (people sent at once, …) are at least N (30人以上).
    #[serde(default)]
    pub min_units: Option<u32>,
    #[serde(default)]
    pub any_of: Vec<Conditions>,
}

/// The names usable as `[rule.wording]` keys: every condition and limit.
pub const WORDING_KEYS: &[&str] = &[
    "groups_any",
    "groups_all",
    "difficulty",
    "difficulty_categories_any",
    "min_age",
    "hukou_district",
    "hukou_tianjin",
    "tianjin_graduate",
    "max_months_since_graduation",
    "graduated_this_year",
    "registered_unemployed",
    "min_months_registered_unemployed",
    "placement_kinds",
    "min_contract_months",
    "min_months_employed",
    "still_employed",
    "min_insured_months",
    "within_years_of_retirement",
    "first_public_welfare_placement",
    "prior_placement_subsidy_expired",
    "training_completed",
    "max_months_training_to_business",
    "max_months_since_training",
    "min_business_operating_months",
    "max_months_since_business_registration",
    "min_business_employees",
    "business_district",
    "attested",
    "requires_grant",
    "enterprise_kinds_any",
    "enterprise_kinds_none",
    "enterprise_district",
    "enterprise_min_insured_months",
    "layoffs",
    "new_hires",
    "min_units",
    "any_of",
    "amount",
    "one_time",
    "max_grants",
    "max_months",
    "cumulative_months",
    "cumulative_per_placement",
    "period_from_placement_month",
    "extend_to_retirement_within_years",
    "max_public_welfare_placements",
    "excludes",
    "cumulative_with",
    "renewal",
    "valid_to",
    "valid_from",
    "in_force_by",
    "replaces",
];

// === parameters ===

/// The unit of a parameter's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterUnit {
    /// Money, in fen.
    Fen,
    /// A rate in basis points (1 % = 100).
    BasisPoints,
}

/// A yearly parameter (`[[parameter]]`) with its dated values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub name: String,
    pub unit: ParameterUnit,
    pub description: String,
    pub values: Vec<ParameterValue>,
    #[serde(skip)]
    pub file: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterValue {
    pub value: i64,
    #[serde(deserialize_with = "de_date")]
    pub valid_from: Date,
    /// Inclusive; absent: until the next value's `valid_from`, or open-ended.
    #[serde(default, deserialize_with = "de_opt_date")]
    pub valid_to: Option<Date>,
    pub source: String,
    /// Not confirmed: the bureau must confirm it before it is relied on.
    #[serde(default)]
    pub verify: bool,
    #[serde(default)]
    pub note: Option<String>,
}

impl ParameterValue {
    pub fn in_force_on(&self, date: Date) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date <= to)
    }
}

// === retirement age ===

/// One statutory retirement-age law in force for a period (`[[retirement_age]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetirementLaw {
    #[serde(deserialize_with = "de_date")]
    pub valid_from: Date,
    #[serde(default, deserialize_with = "de_opt_date")]
    pub valid_to: Option<Date>,
    pub source: String,
    #[serde(default)]
    pub verify: bool,
    #[serde(default)]
    pub note: Option<String>,
    pub male: RetirementSchedule,
    pub female_cadre: RetirementSchedule,
    pub female_worker: RetirementSchedule,
    #[serde(skip)]
    pub file: String,
}

impl RetirementLaw {
    pub fn in_force_on(&self, date: Date) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date <= to)
    }
}

/// A retirement age, fixed or rising by birth month.
///
/// Born before `from_birth_month`: `base_years`. From that month on, the age
/// rises by `months_per_step` for every `birth_months_per_step` months of birth,
/// the first step applying to the first cohort, up to `max_years`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetirementSchedule {
    pub base_years: u32,
    #[serde(default)]
    pub from_birth_month: Option<YearMonth>,
    #[serde(default)]
    pub birth_months_per_step: Option<u32>,
    #[serde(default)]
    pub months_per_step: Option<u32>,
    #[serde(default)]
    pub max_years: Option<u32>,
}

// === a file ===

/// One catalogue file: any of the sections may be present.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogueFile {
    #[serde(default)]
    pub jurisdiction: Option<JurisdictionHeader>,
    #[serde(default)]
    pub document: Vec<Document>,
    #[serde(default)]
    pub rule: Vec<Rule>,
    #[serde(default)]
    pub parameter: Vec<Parameter>,
    #[serde(default)]
    pub retirement_age: Vec<RetirementLaw>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_parse_and_round_down() {
        assert_eq!(Share::parse("2/3"), Some(Share { num: 2, den: 3 }));
        assert_eq!(Share::parse("80%"), Some(Share { num: 80, den: 100 }));
        assert_eq!(Share::parse("0/3"), None);
        assert_eq!(Share::parse("2/0"), None);
        assert_eq!(Share::parse("two thirds"), None);
        assert_eq!(Share { num: 2, den: 3 }.of(100), 66);
        assert_eq!(Share { num: 80, den: 100 }.to_string(), "80%");
    }
}
