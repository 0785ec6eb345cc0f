//! The state of an enterprise case, folded from its events, and the derived
//! figures the policies ask for.

use std::collections::BTreeMap;

use chrono::Datelike;

use crate::{
    Date,
    enterprise::{
        BatchLayoff, EnterpriseEvent, EnterpriseFact, EnterpriseRegistration, GuaranteeLoan, Hire, InternshipOffer,
        LabourShortage, LayoffPlan, LayoffService, WelfarePostsDevelopment,
    },
    person::SubsidyRecord,
    subsidy::{self, ProposalRecord, ProposalStatus},
};

/// More insured employees than this make a key enterprise (重点企业) under
/// employment monitoring: 000 § 28 "对超 200人重点企业进行用工监测" (also task 45).
/// 超 means "exceeding", so exactly 200 does not qualify; 201 does.
pub const KEY_ENTERPRISE_MORE_THAN: u32 = 200;

/// Days of notice an economic layoff plan must give the union or all staff:
/// 000 § 3 and 002 #13 "提前30日向工会或者全体职工说明情况". The planned layoff
/// date minus the notice date must be at least 30 days.
pub const LAYOFF_NOTICE_DAYS: i64 = 30;

/// What public employment services owe an enterprise after a batch layoff
/// (000 § 3). Ordered: each response includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LayoffResponse {
    /// Under 20 people: ordinary unemployment monitoring.
    Monitor,
    /// 20 or more: "对 20人以上批量退工减员企业实时预警、动态跟踪、主动服务".
    WarningTrackingProactiveService,
    /// 40 or more: "对 40人以上批量退工减员企业提供技能培训、专场招聘等公共就业服务".
    SkillsTrainingAndJobFairs,
}

/// The response a batch layoff of `people` calls for (000 § 3). "N人以上" is read
/// inclusively (以上 includes N, as in Chinese legal usage): 20 → warning, 40 →
/// training and job fairs.
pub fn layoff_response(people: u32) -> LayoffResponse {
    match people {
        40.. => LayoffResponse::SkillsTrainingAndJobFairs,
        20.. => LayoffResponse::WarningTrackingProactiveService,
        _ => LayoffResponse::Monitor,
    }
}

/// An enterprise case: empty until it is registered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnterpriseCase {
    file: Option<EnterpriseFile>,
}

/// Everything known about a registered enterprise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseFile {
    pub registration: EnterpriseRegistration,
    pub registered_on: Date,
    /// Insured employees by month (first day of the month).
    pub headcounts: BTreeMap<Date, u32>,
    pub hires: Vec<HireRecord>,
    pub layoffs: Vec<BatchLayoffRecord>,
    pub layoff_plans: Vec<LayoffPlanRecord>,
    /// When the enterprise was designated a key enterprise (重点企业), if it was.
    pub designated_key_on: Option<Date>,
    pub shortages: Vec<LabourShortageRecord>,
    pub subsidies: Vec<SubsidyRecord>,
    /// 见习岗位 offered, in order.
    pub internship_offers: Vec<InternshipOfferRecord>,
    /// Public-welfare and community-service posts developed, in order: (fact, date).
    pub welfare_posts: Vec<(WelfarePostsDevelopment, Date)>,
    /// Guarantee loans lent, in order: (fact, date).
    pub guarantee_loans: Vec<(GuaranteeLoan, Date)>,
    /// Subsidy proposals and their review, in order.
    pub proposals: Vec<ProposalRecord>,
    /// Eligibilities the service noted (政策找人), in order; one per rule.
    pub eligibilities: Vec<crate::person::EligibilityRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HireRecord {
    pub hire: Hire,
    pub recorded_on: Date,
    pub link: HireLinkState,
}

/// Whether a hire shows on the person's case as a placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HireLinkState {
    /// leye's hire linker has not settled it yet.
    Pending,
    /// The person's case recorded the placement (`person.placed`, this event id).
    Linked { placement_event_id: uuid::Uuid, on: Date },
    /// The person's case refused the placement, for this reason.
    Refused { reason_code: String, reason: String, on: Date },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLayoffRecord {
    pub layoff: BatchLayoff,
    pub reported_on: Date,
    /// Services given after it (000 § 3), in the order recorded.
    pub services: Vec<LayoffServiceRecord>,
}

/// One service given after a batch layoff, and its date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoffServiceRecord {
    pub service: LayoffService,
    pub provided_on: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternshipOfferRecord {
    pub offer: InternshipOffer,
    pub offered_on: Date,
}

impl BatchLayoffRecord {
    /// The response this layoff calls for (000 § 3), see [`layoff_response`].
    pub fn response(&self) -> LayoffResponse {
        layoff_response(self.layoff.people.get())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoffPlanRecord {
    pub plan: LayoffPlan,
    pub filed_on: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabourShortageRecord {
    pub shortage: LabourShortage,
    pub reported_on: Date,
}

impl EnterpriseCase {
    /// The folded facts, `None` before registration.
    pub fn file(&self) -> Option<&EnterpriseFile> {
        self.file.as_ref()
    }

    /// Folds a sequence of events from empty.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a EnterpriseEvent>) -> Self {
        let mut case = Self::default();
        for e in events {
            case.apply(e);
        }
        case
    }

    /// Folds one event in place. Events `decide` never produces for this state
    /// (a fact before registration, a second registration) leave it unchanged.
    pub fn apply(&mut self, event: &EnterpriseEvent) {
        let on = event.effective_date;
        if let EnterpriseFact::Registered(reg) = &event.fact {
            if self.file.is_none() {
                self.file = Some(EnterpriseFile {
                    registration: reg.clone(),
                    registered_on: on,
                    headcounts: BTreeMap::new(),
                    hires: Vec::new(),
                    layoffs: Vec::new(),
                    layoff_plans: Vec::new(),
                    designated_key_on: None,
                    shortages: Vec::new(),
                    subsidies: Vec::new(),
                    internship_offers: Vec::new(),
                    welfare_posts: Vec::new(),
                    guarantee_loans: Vec::new(),
                    proposals: Vec::new(),
                    eligibilities: Vec::new(),
                });
            }
            return;
        }
        let Some(file) = &mut self.file else { return };
        match &event.fact {
            EnterpriseFact::Registered(_) => {}
            EnterpriseFact::HeadcountReported(h) => {
                file.headcounts.insert(h.month, h.insured_employees);
            }
            EnterpriseFact::HireRecorded(h) => {
                file.hires.push(HireRecord { hire: h.clone(), recorded_on: on, link: HireLinkState::Pending })
            }
            EnterpriseFact::HireLinked(l) => {
                if let Some(h) = file.hires.iter_mut().find(|h| h.hire.hire_id == l.hire_id) {
                    h.link = HireLinkState::Linked { placement_event_id: l.placement_event_id, on };
                }
            }
            EnterpriseFact::HireLinkRefused(r) => {
                if let Some(h) = file.hires.iter_mut().find(|h| h.hire.hire_id == r.hire_id) {
                    h.link =
                        HireLinkState::Refused { reason_code: r.reason_code.clone(), reason: r.reason.clone(), on };
                }
            }
            EnterpriseFact::BatchLayoffReported(l) => {
                file.layoffs.push(BatchLayoffRecord { layoff: l.clone(), reported_on: on, services: Vec::new() })
            }
            EnterpriseFact::LayoffServiceProvided(s) => {
                if let Some(l) = file.layoffs.iter_mut().find(|l| l.layoff.layoff_id == s.layoff_id) {
                    l.services.push(LayoffServiceRecord { service: s.service, provided_on: on });
                }
            }
            EnterpriseFact::InternshipPostsOffered(o) => {
                file.internship_offers.push(InternshipOfferRecord { offer: o.clone(), offered_on: on })
            }
            EnterpriseFact::WelfarePostsDeveloped(d) => file.welfare_posts.push((d.clone(), on)),
            EnterpriseFact::GuaranteeLoanGranted(l) => file.guarantee_loans.push((l.clone(), on)),
            EnterpriseFact::LayoffPlanFiled(p) => {
                file.layoff_plans.push(LayoffPlanRecord { plan: p.clone(), filed_on: on })
            }
            EnterpriseFact::DesignatedKeyEnterprise => {
                file.designated_key_on.get_or_insert(on);
            }
            EnterpriseFact::LabourShortageReported(s) => {
                file.shortages.push(LabourShortageRecord { shortage: s.clone(), reported_on: on })
            }
            EnterpriseFact::SubsidyProposed(p) => file.proposals.push(ProposalRecord {
                proposal: p.clone(),
                proposed_on: on,
                status: ProposalStatus::Pending,
            }),
            EnterpriseFact::SubsidyApproved(a) => subsidy::apply_approval(&mut file.proposals, a, on),
            EnterpriseFact::SubsidyProposalRejected(r) => subsidy::apply_rejection(&mut file.proposals, r, on),
            EnterpriseFact::SubsidyGranted(g) => file.subsidies.push(SubsidyRecord {
                grant: g.clone(),
                granted_on: on,
                revoked_on: None,
                revoke_reason: None,
            }),
            EnterpriseFact::SubsidyRevoked(r) => {
                if let Some(s) = file.subsidies.iter_mut().find(|s| s.grant.subsidy_id == r.subsidy_id) {
                    s.revoked_on = Some(on);
                    s.revoke_reason = Some(r.reason.clone());
                }
            }
            EnterpriseFact::EligibilityFound(e) => {
                file.eligibilities.push(crate::person::EligibilityRecord { finding: e.clone(), found_on: on })
            }
        }
    }

    /// Designated a key enterprise (重点企业, 000 § 28).
    pub fn is_key_enterprise(&self) -> bool {
        self.file().is_some_and(|f| f.designated_key_on.is_some())
    }
}

fn first_of_month(date: Date) -> Date {
    date.with_day(1).unwrap_or(date)
}

impl EnterpriseFile {
    /// Insured employees as known on `date`: the latest monthly headcount whose
    /// month began by then, or the registration's figure when it is newer (a
    /// headcount for the registration month counts as newer). `None` before
    /// registration.
    pub fn insured_employees_on(&self, date: Date) -> Option<u32> {
        if date < self.registered_on {
            return None;
        }
        let headcount = self
            .headcounts
            .range(..=date)
            .next_back()
            .filter(|(month, _)| **month >= first_of_month(self.registered_on))
            .map(|(_, n)| *n);
        Some(headcount.unwrap_or(self.registration.insured_employees))
    }

    /// Insured employees now: the latest headcount, or the registration's figure.
    pub fn insured_employees(&self) -> u32 {
        self.insured_employees_on(Date::MAX).unwrap_or(self.registration.insured_employees)
    }

    /// More than 200 insured employees on `date` (000 § 28 "超 200人"), the size
    /// a key-enterprise designation needs.
    pub fn key_enterprise_size_on(&self, date: Date) -> bool {
        self.insured_employees_on(date).is_some_and(|n| n > KEY_ENTERPRISE_MORE_THAN)
    }

    /// People laid off in batches reported from `from` to `to` (inclusive),
    /// at most `u32::MAX`: batches of any size are recorded, and a sum that
    /// wrapped would read as no layoffs at all (and pass a stability refund).
    pub fn laid_off_between(&self, from: Date, to: Date) -> u32 {
        self.layoffs
            .iter()
            .filter(|l| (from..=to).contains(&l.reported_on))
            .fold(0u32, |sum, l| sum.saturating_add(l.layoff.people.get()))
    }

    /// Layoff rate (减员率) over `from..=to`: people laid off in batches in the
    /// period over insured employees at its start. `None` when the period starts
    /// before registration, is empty, or there were no insured employees.
    pub fn layoff_rate(&self, from: Date, to: Date) -> Option<f64> {
        if to < from {
            return None;
        }
        let base = self.insured_employees_on(from).filter(|n| *n > 0)?;
        Some(f64::from(self.laid_off_between(from, to)) / f64::from(base))
    }

    pub fn hire(&self, id: &str) -> Option<&HireRecord> {
        self.hires.iter().find(|h| h.hire.hire_id == id)
    }

    pub fn layoff(&self, id: &str) -> Option<&BatchLayoffRecord> {
        self.layoffs.iter().find(|l| l.layoff.layoff_id == id)
    }

    pub fn internship_offer(&self, id: &str) -> Option<&InternshipOfferRecord> {
        self.internship_offers.iter().find(|o| o.offer.offer_id == id)
    }

    /// Internship posts offered from `from` to `to` (inclusive).
    pub fn internship_posts_between(&self, from: Date, to: Date) -> u32 {
        self.internship_offers.iter().filter(|o| (from..=to).contains(&o.offered_on)).map(|o| o.offer.posts.get()).sum()
    }

    /// Posts developed under `id`, if recorded.
    pub fn welfare_posts(&self, id: &str) -> Option<&(WelfarePostsDevelopment, Date)> {
        self.welfare_posts.iter().find(|(d, _)| d.development_id == id)
    }

    /// The guarantee loan recorded under `id`, if any.
    pub fn guarantee_loan(&self, id: &str) -> Option<&(GuaranteeLoan, Date)> {
        self.guarantee_loans.iter().find(|(l, _)| l.loan_id == id)
    }

    pub fn layoff_plan(&self, id: &str) -> Option<&LayoffPlanRecord> {
        self.layoff_plans.iter().find(|p| p.plan.plan_id == id)
    }

    pub fn subsidy(&self, id: &str) -> Option<&SubsidyRecord> {
        self.subsidies.iter().find(|s| s.grant.subsidy_id == id)
    }

    /// The eligibility noted under a catalogue rule, if any.
    pub fn eligibility(&self, rule_id: &str) -> Option<&crate::person::EligibilityRecord> {
        self.eligibilities.iter().find(|e| e.finding.rule_id == rule_id)
    }
}
