//! The facts an enterprise case records (domain.md §2.2). Each is the payload of
//! one command and of the event it produces. Subsidies reuse the person case's
//! [`SubsidyGrant`](crate::person::SubsidyGrant) and
//! [`SubsidyRevocation`](crate::person::SubsidyRevocation).

use std::{collections::BTreeSet, num::NonZeroU32};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Date,
    values::{CreditCode, DistrictCode, Fen, ValueError, text},
};

// === impl EnterpriseName ===

/// An enterprise's registered name: 1 to 100 characters, trimmed, no control
/// characters. Not personal data, so it has an ordinary `Debug`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EnterpriseName(String);

impl EnterpriseName {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        text(raw, 1, 100).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EnterpriseName {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        Self::parse(&s)
    }
}
impl From<EnterpriseName> for String {
    fn from(n: EnterpriseName) -> String {
        n.0
    }
}

// === registration ===

/// Kinds of enterprise that policies single out (domain.md §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnterpriseKind {
    /// 科技型初创企业
    TechStartUp,
    /// 高校毕业生创办企业
    GraduateStartUp,
    /// 养老服务机构
    ElderlyCare,
    /// 员工制家政服务企业
    EmployeeBasedDomesticService,
    /// 人力资源服务机构
    HumanResourcesAgency,
    /// 职业院校
    VocationalSchool,
    /// 创业孵化基地
    Incubator,
    Other,
}

/// 用人单位登记: the facts recorded when an enterprise case is opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseRegistration {
    /// The case's identity (统一社会信用代码).
    pub credit_code: CreditCode,
    pub name: EnterpriseName,
    pub district: DistrictCode,
    /// Industry classification code (GB/T 4754), parsed at the edge with
    /// [`crate::values::code`].
    pub industry_code: String,
    /// 参保职工人数 on the registration date: the size until a headcount is reported.
    pub insured_employees: u32,
    /// 小微企业
    pub small_micro: bool,
    /// May be empty.
    pub kinds: BTreeSet<EnterpriseKind>,
    /// False when the credit code fails the GB 32100-2015 check character and a
    /// caseworker confirmed it against the business licence (early codes).
    #[serde(default = "check_character_valid_default")]
    pub check_character_valid: bool,
}

fn check_character_valid_default() -> bool {
    true
}

/// 参保人数月报: insured employees in one month, for the layoff rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headcount {
    /// The first day of the month reported on.
    pub month: Date,
    pub insured_employees: u32,
}

/// 招用: the enterprise hired a person who has a person case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hire {
    /// Client-chosen, unique in the case.
    pub hire_id: String,
    /// The person case's stream id (no personal data on the enterprise stream).
    pub person_case_id: Uuid,
    /// 1..=600 months, checked at the edge; `None` for no fixed term.
    pub contract_months: Option<u32>,
    pub started_on: Date,
}

/// 批量退工减员: people who left the enterprise at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchLayoff {
    /// Client-chosen, unique in the case.
    pub layoff_id: String,
    pub people: NonZeroU32,
}

/// 经济性裁员方案: an economic layoff plan, filed before it is carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoffPlan {
    /// Client-chosen, unique in the case.
    pub plan_id: String,
    pub people: NonZeroU32,
    pub planned_layoff_on: Date,
    /// When the union or all staff were told (向工会或全体职工说明情况).
    pub notice_given_on: Date,
}

/// 缺工: posts the enterprise cannot fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabourShortage {
    pub posts: NonZeroU32,
    /// The skills wanted, 1..=500 characters, parsed at the edge with [`crate::values::text`].
    pub skills: String,
}

/// The person's case recorded the placement a hire asked for (written by
/// leye's hire linker, never by clients).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HireLink {
    pub hire_id: String,
    /// The `person.placed` event on the person's case.
    pub placement_event_id: Uuid,
}

/// The person's case refused the placement a hire asked for: the hire stays on
/// the enterprise case, not linked, with the person case's reason (written by
/// leye's hire linker, never by clients).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HireLinkRefusal {
    pub hire_id: String,
    /// The person case's rejection code, e.g. `ALREADY_PLACED`.
    pub reason_code: String,
    /// The rule, stated without personal data.
    pub reason: String,
}

// === after a batch layoff, and internship posts ===

/// The public employment services owed after a batch layoff (000 § 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoffService {
    /// 动态跟踪、主动服务: a tracking visit to the enterprise and the people
    /// laid off, with the services offered (owed from 20 people).
    TrackingVisit,
    /// 技能培训: skills training organised for them (owed from 40 people).
    SkillsTraining,
    /// 专场招聘: a special job fair for them (owed from 40 people).
    JobFair,
}

/// A service given after one batch layoff of the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoffServiceProvision {
    /// The batch layoff served (its `layoff_id`).
    pub layoff_id: String,
    pub service: LayoffService,
}

/// 见习岗位: internship posts the enterprise offers (a 见习基地 or any employer
/// taking interns; 001 § 8 counts posts beside interns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternshipOffer {
    /// Client-chosen, unique in the case.
    pub offer_id: String,
    pub posts: NonZeroU32,
}

// === safety-net posts developed, guarantee loans ===

/// The two kinds of safety-net post 001 § 9 counts together
/// ("300个以上公益性岗位和社区服务岗位").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WelfarePostKind {
    /// 公益性岗位
    PublicWelfare,
    /// 社区服务型岗位 (domestic, elderly care, property services)
    CommunityService,
}

/// 开发公益性岗位/社区服务岗位: posts the unit on this case (a street office,
/// a community, a social organisation or an enterprise: anyone with a credit
/// code) makes available for safety-net placement. 001 § 9 counts posts
/// developed, not persons placed in them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelfarePostsDevelopment {
    /// Client-chosen, unique in the case.
    pub development_id: String,
    pub kind: WelfarePostKind,
    pub posts: NonZeroU32,
}

/// Who borrowed a guarantee loan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoanBorrower {
    /// The enterprise itself (小微企业创业担保贷款).
    Enterprise,
    /// Its founder, for this business (个人创业担保贷款, e.g. a 个体工商户);
    /// the founder is not named here.
    Founder,
}

/// 创业担保贷款发放: a guarantee loan lent for the business on this case. A loan
/// is a fact of its own: the interest subsidy on it is a grant
/// (`SubsidyGranted`); the principal lent is what 001 § 4 counts
/// ("每年发放创业担保贷款不低于5000万元").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuaranteeLoan {
    /// Client-chosen, unique in the case.
    pub loan_id: String,
    pub borrower: LoanBorrower,
    /// The principal lent.
    pub principal: Fen,
    /// The lending bank, 1 to 100 characters, parsed at the edge with [`crate::values::text`].
    pub lender: String,
    /// 1..=[`MAX_LOAN_TERM_MONTHS`].
    pub term_months: u32,
}

/// The longest term a guarantee loan may be recorded with: the longest any
/// source allows is 3 years (000 § 14, 002 #47, 004 § 17); 5 years leaves room
/// for an extension (展期) without admitting nonsense.
pub const MAX_LOAN_TERM_MONTHS: u32 = 60;

/// The largest principal a guarantee loan may be recorded with, in fen:
/// 100 M yuan, far above any loan the catalogue knows (3 M, 000 § 14, 002
/// #47-48), so that the sums of a jurisdiction's principals never overflow.
pub const MAX_LOAN_PRINCIPAL_FEN: i64 = 10_000_000_000;

/// A guarantee loan's principal as given: positive and at most
/// [`MAX_LOAN_PRINCIPAL_FEN`].
pub fn loan_principal(amount: i64) -> Result<Fen, ValueError> {
    let principal = Fen::positive(amount)?;
    if amount <= MAX_LOAN_PRINCIPAL_FEN {
        Ok(principal)
    } else {
        Err(ValueError(
            "must be at most 10 000 000 000 fen (100 M yuan; the largest guarantee loan of the catalogue is 3 M, \
             000 § 14, 002 #47-48)"
                .into(),
        ))
    }
}
