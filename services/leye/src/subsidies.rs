//! Subsidies: proposed against the policy catalogue, approved by a supervisor.
//!
//! The path of a proposal, in one direction:
//! request (parsed) → the case's turn → fold → facts from the case (and the
//! payee enterprise's case) plus the facts the proposer supplied → the
//! catalogue's decision for the rule in force in the case's district on the
//! effective date → refused: `POLICY_REFUSED` citing the failed checks'
//! clauses, nothing recorded; granted: `subsidy_proposed` with the rule, the
//! passed checks and the supplied facts.
//!
//! An approval is evaluated again, inside the case's turn, on the approval
//! date and with everything granted by then: two proposals for a one-time
//! programme cannot both be approved, and a rule that lapsed meanwhile grants
//! nothing. Only then does the decider's separation of duties apply (another
//! user, with the supervisor role) and `subsidy_approved` + `subsidy_granted`
//! are recorded. A rejection needs no evaluation.
//!
//! Decisions explain themselves with ages, months and dates: they go back to
//! the caller who asked, never to the log.

use std::{collections::BTreeSet, sync::Arc};

use leye_domain::{
    Date,
    enterprise::{
        DatedEnterpriseCommand, EnterpriseCase, EnterpriseCommand, EnterpriseFile, EnterpriseKind as DomainKind,
    },
    person::{
        BenefitEndReason, BenefitStart, DatedCommand, EligibilityReason, Payee, PersonCase, PersonCommand, SubsidyGrant,
    },
    subsidy::{ApproveProposal, ProposalInputs, ProposalRecord, RejectProposal, Reviewer, SubsidyProposal},
    values::DistrictCode,
};
use leye_policy::{
    Attestation, BusinessFacts, Catalogue, Decision, EnterpriseFacts, EnterpriseKind, Facts, GrantRequest, LoanFacts,
    Outcome, PayeeKind, PersonFacts, PostType,
};
use leye_store::EventStore;
use serde::Serialize;
use uuid::Uuid;

use crate::{
    access::Access,
    cases::{AppError, AsOf, CommandMeta, CommandOutcome, EnterpriseCases, PersonCases, Target},
};

/// The catalogue rule deciding whether unemployment benefit continues to
/// retirement age (`policies/tianjin.toml`).
pub const BENEFIT_EXTENSION_RULE: &str = "tianjin.benefit.extension-to-retirement";

/// Which case a subsidy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CaseRef {
    Person(Uuid),
    Enterprise(Uuid),
}

/// A proposal as asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposalRequest {
    /// Becomes the subsidy id once approved.
    pub proposal_id: String,
    pub rule_id: String,
    pub payee: Payee,
    pub inputs: ProposalInputs,
}

/// Subsidy proposals and reviews on person and enterprise cases.
#[derive(Debug, Clone)]
pub struct Subsidies<S> {
    people: PersonCases<S>,
    enterprises: EnterpriseCases<S>,
    catalogue: Arc<Catalogue>,
}

impl<S: EventStore> Subsidies<S> {
    pub fn new(people: PersonCases<S>, catalogue: Arc<Catalogue>) -> Self {
        Self { enterprises: people.of_kind(), people, catalogue }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The decision a proposal would get now, recording nothing (a dry run
    /// for the caseworker's screen).
    pub async fn evaluate(
        &self,
        case: CaseRef,
        on: Date,
        req: &ProposalRequest,
        access: &Access,
    ) -> Result<Decision, AppError> {
        match case {
            CaseRef::Person(id) => {
                let view = self.people.state(id, AsOf::Latest, access).await?;
                let payee = self.payee_facts(&req.payee, on).await?;
                person_decision(&self.catalogue, &view.case, on, req, payee)
            }
            CaseRef::Enterprise(id) => {
                let view = self.enterprises.state(id, AsOf::Latest, access).await?;
                let local = self.local_hukou_hires(&view.case, on).await?;
                enterprise_decision(&self.catalogue, &view.case, on, req, local)
            }
        }
    }

    /// Records a proposal the catalogue allows; refuses one it does not.
    pub async fn propose(
        &self,
        case: CaseRef,
        meta: CommandMeta,
        on: Date,
        req: ProposalRequest,
    ) -> Result<(CommandOutcome, Decision), AppError> {
        let payee = self.payee_facts(&req.payee, on).await?;
        let decided = std::sync::Mutex::new(None);
        let proposer = meta.actor.clone();
        let keep = |d: &Decision| *decided.lock().unwrap_or_else(|e| e.into_inner()) = Some(d.clone());
        let outcome = match case {
            CaseRef::Person(id) => {
                self.people
                    .execute_with(Target::Case(id), meta, &(case, on, &req), |c, _| {
                        let decision = person_decision(&self.catalogue, c, on, &req, payee.clone())?;
                        keep(&decision);
                        let proposal = proposal(&decision, &req, &proposer)?;
                        Ok(DatedCommand { effective_date: on, command: PersonCommand::ProposeSubsidy(proposal) })
                    })
                    .await?
            }
            CaseRef::Enterprise(id) => {
                let view = self.enterprises.state(id, AsOf::Latest, &meta.access).await?;
                let local = self.local_hukou_hires(&view.case, on).await?;
                self.enterprises
                    .execute_with(Target::Case(id), meta, &(case, on, &req), |c, _| {
                        let decision = enterprise_decision(&self.catalogue, c, on, &req, local)?;
                        keep(&decision);
                        let proposal = proposal(&decision, &req, &proposer)?;
                        Ok(DatedEnterpriseCommand {
                            effective_date: on,
                            command: EnterpriseCommand::ProposeSubsidy(proposal),
                        })
                    })
                    .await?
            }
        };
        let decision = decided.into_inner().unwrap_or_else(|e| e.into_inner());
        Ok((outcome, decision.unwrap_or_else(|| recorded_decision(&req.rule_id))))
    }

    /// Approves a proposal after evaluating it again on `on`; the subsidy is granted.
    pub async fn approve(
        &self,
        case: CaseRef,
        meta: CommandMeta,
        on: Date,
        proposal_id: String,
        reviewer: Reviewer,
    ) -> Result<(CommandOutcome, Decision), AppError> {
        let command = ApproveProposal { proposal_id: proposal_id.clone(), reviewer };
        let decided = std::sync::Mutex::new(None);
        let keep = |d: &Decision| *decided.lock().unwrap_or_else(|e| e.into_inner()) = Some(d.clone());
        let request = (case, on, &command);
        let outcome = match case {
            CaseRef::Person(id) => {
                // The payee enterprise's facts, as of now.
                let view = self.people.state(id, AsOf::Latest, &meta.access).await?;
                let payee = match view.case.file().and_then(|f| pending(&f.proposals, &proposal_id)) {
                    Some(p) => self.payee_facts(&p.grant.payee, on).await?,
                    None => None,
                };
                self.people
                    .execute_with(Target::Case(id), meta, &request, |c, _| {
                        if let Some(p) = c.file().and_then(|f| pending(&f.proposals, &proposal_id)) {
                            let req = request_of(p);
                            let decision = person_decision(&self.catalogue, c, on, &req, payee.clone())?;
                            keep(&decision);
                            refuse_unless_granted(&decision)?;
                        }
                        Ok(DatedCommand { effective_date: on, command: PersonCommand::ApproveSubsidy(command.clone()) })
                    })
                    .await?
            }
            CaseRef::Enterprise(id) => {
                let view = self.enterprises.state(id, AsOf::Latest, &meta.access).await?;
                let local = self.local_hukou_hires(&view.case, on).await?;
                self.enterprises
                    .execute_with(Target::Case(id), meta, &request, |c, _| {
                        if let Some(p) = c.file().and_then(|f| pending(&f.proposals, &proposal_id)) {
                            let decision = enterprise_decision(&self.catalogue, c, on, &request_of(p), local)?;
                            keep(&decision);
                            refuse_unless_granted(&decision)?;
                        }
                        Ok(DatedEnterpriseCommand {
                            effective_date: on,
                            command: EnterpriseCommand::ApproveSubsidy(command.clone()),
                        })
                    })
                    .await?
            }
        };
        let decision = decided.into_inner().unwrap_or_else(|e| e.into_inner());
        Ok((outcome, decision.unwrap_or_else(|| recorded_decision(&proposal_id))))
    }

    /// Rejects a proposal, with the reason.
    pub async fn reject(
        &self,
        case: CaseRef,
        meta: CommandMeta,
        on: Date,
        command: RejectProposal,
    ) -> Result<CommandOutcome, AppError> {
        match case {
            CaseRef::Person(id) => {
                let command =
                    DatedCommand { effective_date: on, command: PersonCommand::RejectSubsidyProposal(command) };
                self.people.execute(Target::Case(id), meta, command).await
            }
            CaseRef::Enterprise(id) => {
                let command = DatedEnterpriseCommand {
                    effective_date: on,
                    command: EnterpriseCommand::RejectSubsidyProposal(command),
                };
                self.enterprises.execute(Target::Case(id), meta, command).await
            }
        }
    }

    /// Starts unemployment benefit; an extension to retirement age is granted
    /// only under the catalogue's rule [`BENEFIT_EXTENSION_RULE`] (000 § 24):
    /// registered unemployed, the previous benefit ended exhausted, strictly
    /// less than one year to the statutory retirement age on `on`.
    pub async fn start_benefit(
        &self,
        case_id: Uuid,
        meta: CommandMeta,
        on: Date,
        benefit: BenefitStart,
        post_type: Option<String>,
    ) -> Result<CommandOutcome, AppError> {
        let request = (on, &benefit, &post_type);
        self.people
            .execute_with(Target::Case(case_id), meta, &request, |c, _| {
                if benefit.extended_to_retirement {
                    let Some(file) = c.file() else { return Err(AppError::NotFound) };
                    let (mut person, prior_grants) = PersonFacts::from_file(file, on);
                    person.post_type = post_type.as_deref().map(|p| named::<PostType>(p, "post_type")).transpose()?;
                    let exhausted = file.benefits.iter().rev().find(|b| b.ended_on.is_some()).is_some_and(|b| {
                        b.ended_on.is_some_and(|d| d <= on) && b.end_reason == Some(BenefitEndReason::Exhausted)
                    });
                    let attested =
                        if exhausted { BTreeSet::from([Attestation::BenefitExhausted]) } else { BTreeSet::new() };
                    let facts = Facts { person: Some(person), enterprise: None, attested, prior_grants };
                    let district = file.registration.residence.district.clone();
                    let request = GrantRequest::new(BENEFIT_EXTENSION_RULE, district, on, PayeeKind::Person);
                    refuse_unless_granted(&self.catalogue.evaluate(&request, &facts))?;
                }
                Ok(DatedCommand { effective_date: on, command: PersonCommand::StartBenefit(benefit.clone()) })
            })
            .await
    }

    /// The enterprise's hires this year (to `on`) of persons whose hukou is in
    /// the enterprise's district, read from the hired persons' cases (the
    /// enterprise stream holds no personal data). A hire whose person case
    /// is gone does not count.
    async fn local_hukou_hires(&self, case: &EnterpriseCase, on: Date) -> Result<u32, AppError> {
        let Some(file) = case.file() else { return Ok(0) };
        let district = file.registration.district.as_str();
        let year_start = Date::from_ymd_opt(chrono::Datelike::year(&on), 1, 1).unwrap_or(on);
        let mut local = 0;
        for h in file.hires.iter().filter(|h| h.hire.started_on >= year_start && h.hire.started_on <= on) {
            let view = match self.people.state(h.hire.person_case_id, AsOf::Latest, &Access::internal()).await {
                Ok(v) => v,
                Err(AppError::NotFound) => continue,
                Err(e) => return Err(e),
            };
            if view.case.file().is_some_and(|p| p.registration.hukou.county.as_str() == district) {
                local += 1;
            }
        }
        Ok(local)
    }

    /// The facts of the enterprise a person's subsidy is paid to, when it has a case.
    async fn payee_facts(&self, payee: &Payee, on: Date) -> Result<Option<EnterpriseFacts>, AppError> {
        let Payee::Enterprise(code) = payee else { return Ok(None) };
        let id = match self.enterprises.find(&Target::Enterprise(code.clone()), &Access::internal()).await {
            Ok((id, _)) => id,
            Err(AppError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let view = self.enterprises.state(id, AsOf::Latest, &Access::internal()).await?;
        Ok(view.case.file().map(|f| enterprise_facts(f, on, None, 0)))
    }
}

/// A pending proposal by id (the decider says why, if it is not one).
fn pending<'a>(proposals: &'a [ProposalRecord], id: &str) -> Option<&'a SubsidyProposal> {
    proposals
        .iter()
        .find(|p| p.id() == id && p.status == leye_domain::subsidy::ProposalStatus::Pending)
        .map(|p| &p.proposal)
}

/// What an approval re-evaluates: exactly what was proposed.
fn request_of(p: &SubsidyProposal) -> ProposalRequest {
    let mut inputs = (*p.inputs).clone();
    inputs.amount = Some(p.grant.amount);
    inputs.period = Some(p.grant.period);
    ProposalRequest {
        proposal_id: p.grant.subsidy_id.clone(),
        rule_id: p.rule_id.clone(),
        payee: p.grant.payee.clone(),
        inputs,
    }
}

/// A decision for an outcome replayed from the case (a retried command).
fn recorded_decision(rule_id: &str) -> Decision {
    Decision {
        rule_id: rule_id.to_string(),
        rule: None,
        outcome: Outcome::Refused,
        max_amount: None,
        checks: vec![],
        not_applicable: None,
    }
}

fn refuse_unless_granted(d: &Decision) -> Result<(), AppError> {
    if d.is_granted() { Ok(()) } else { Err(AppError::PolicyRefused(Box::new(d.clone()))) }
}

/// The proposal a granted decision makes.
fn proposal(d: &Decision, req: &ProposalRequest, proposer: &str) -> Result<SubsidyProposal, AppError> {
    refuse_unless_granted(d)?;
    let (Outcome::Granted { amount, period }, Some(rule)) = (&d.outcome, &d.rule) else {
        return Err(AppError::PolicyRefused(Box::new(d.clone())));
    };
    let Some(amount) = amount else {
        // An entitlement (e.g. an income disregard) pays nothing to record as a grant.
        let mut refused = d.clone();
        refused.outcome = Outcome::Refused;
        refused.checks.push(leye_policy::Check {
            check: "amount".into(),
            passed: false,
            detail: "the rule is an entitlement with no amount: nothing to grant".into(),
            clause: rule.source.clone(),
        });
        return Err(AppError::PolicyRefused(Box::new(refused)));
    };
    Ok(SubsidyProposal {
        grant: SubsidyGrant {
            subsidy_id: req.proposal_id.clone(),
            programme: rule.programme.clone(),
            amount: *amount,
            period: *period,
            payee: req.payee.clone(),
            policy_clause: rule.source.clone(),
        },
        rule_id: rule.id.clone(),
        rule_valid_from: rule.valid_from,
        proposed_by: proposer.to_string(),
        reasons: d
            .checks
            .iter()
            .map(|c| EligibilityReason { check: c.check.clone(), detail: c.detail.clone(), clause: c.clause.clone() })
            .collect(),
        inputs: Box::new(req.inputs.clone()),
    })
}

fn grant_request(req: &ProposalRequest, district: DistrictCode, on: Date) -> GrantRequest {
    let payee = match req.payee {
        Payee::Person => PayeeKind::Person,
        Payee::Enterprise(_) => PayeeKind::Enterprise,
        Payee::TrainingProvider(_) => PayeeKind::TrainingProvider,
    };
    let mut r = GrantRequest::new(req.rule_id.clone(), district, on, payee);
    let i = &req.inputs;
    r.amount = i.amount;
    r.period = i.period;
    r.units = i.units;
    r.base = i.base;
    r.loan =
        i.loan.as_ref().map(|l| LoanFacts { principal: l.principal, months: l.months, contract_date: l.contract_date });
    r
}

fn attested(inputs: &ProposalInputs) -> Result<BTreeSet<Attestation>, AppError> {
    inputs.attestations.iter().map(|a| named::<Attestation>(a, "attestations")).collect()
}

/// A catalogue enum by its name in the policy files.
pub fn named<T: serde::de::DeserializeOwned>(name: &str, field: &'static str) -> Result<T, AppError> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| AppError::BadInput { field, rule: format!("unknown name {name:?}: see policies/README.md") })
}

fn person_decision(
    catalogue: &Catalogue,
    case: &PersonCase,
    on: Date,
    req: &ProposalRequest,
    payee: Option<EnterpriseFacts>,
) -> Result<Decision, AppError> {
    let Some(file) = case.file() else { return Err(AppError::NotFound) };
    let (mut person, prior_grants) = PersonFacts::from_file(file, on);
    let i = &req.inputs;
    person.post_type = i.post_type.as_deref().map(|p| named::<PostType>(p, "post_type")).transpose()?;
    person.insured_months = i.person_insured_months;
    person.business = i.business.as_ref().map(|b| BusinessFacts {
        registered_on: b.registered_on,
        employees: b.employees,
        district: b.district.clone(),
    });
    // A district's rule for subsidies paid to an enterprise (hiring subsidies)
    // is the enterprise's district's: a Xiqing enterprise hiring a resident of
    // Heping claims under Xiqing's rules. Otherwise the person's residence.
    let district =
        payee.as_ref().and_then(|e| e.district.clone()).unwrap_or_else(|| file.registration.residence.district.clone());
    let facts = Facts { person: Some(person), enterprise: payee, attested: attested(i)?, prior_grants };
    Ok(catalogue.evaluate(&grant_request(req, district, on), &facts))
}

fn enterprise_decision(
    catalogue: &Catalogue,
    case: &EnterpriseCase,
    on: Date,
    req: &ProposalRequest,
    local_hukou_hires: u32,
) -> Result<Decision, AppError> {
    let Some(file) = case.file() else { return Err(AppError::NotFound) };
    let prior_grants = file
        .subsidies
        .iter()
        .filter(|s| s.granted_on <= on && s.revoked_on.is_none_or(|r| r > on))
        .map(|s| leye_policy::PriorGrant {
            programme: s.grant.programme.clone(),
            rule_id: None,
            amount: Some(s.grant.amount),
            period: s.grant.period,
            granted_on: s.granted_on,
        })
        .collect();
    let i = &req.inputs;
    let mut enterprise = enterprise_facts(file, on, i.enterprise_insured_months, local_hukou_hires);
    // New hires meeting the loan's conditions, when the proposer states them
    // (kept with the proposal like every input); else the recorded hires.
    if let Some(n) = i.new_hires {
        enterprise.new_hires = n;
    }
    if let Some(n) = i.new_hires_local_hukou {
        enterprise.new_hires_local_hukou = n;
    }
    let facts = Facts { person: None, enterprise: Some(enterprise), attested: attested(&req.inputs)?, prior_grants };
    Ok(catalogue.evaluate(&grant_request(req, file.registration.district.clone(), on), &facts))
}

/// The policy facts an enterprise case holds on `on`. Layoffs count the
/// twelve months before `on`; new hires the calendar year of `on`; of them,
/// `local_hukou_hires` have the district's hukou (the person cases know it).
pub(crate) fn enterprise_facts(
    file: &EnterpriseFile,
    on: Date,
    insured_months: Option<u32>,
    local_hukou_hires: u32,
) -> EnterpriseFacts {
    let mut kinds: BTreeSet<EnterpriseKind> = file.registration.kinds.iter().filter_map(|k| policy_kind(*k)).collect();
    if file.registration.small_micro {
        kinds.insert(EnterpriseKind::SmallMicro);
    }
    let year_ago = on - chrono::Months::new(12);
    let year_start = Date::from_ymd_opt(chrono::Datelike::year(&on), 1, 1).unwrap_or(on);
    EnterpriseFacts {
        kinds,
        district: Some(file.registration.district.clone()),
        insured_employees: file.insured_employees_on(on).unwrap_or(0),
        insured_months: insured_months.unwrap_or(0),
        layoffs: file.laid_off_between(year_ago, on),
        new_hires: file.hires.iter().filter(|h| h.hire.started_on >= year_start && h.hire.started_on <= on).count()
            as u32,
        new_hires_local_hukou: local_hukou_hires,
    }
}

fn policy_kind(k: DomainKind) -> Option<EnterpriseKind> {
    Some(match k {
        DomainKind::TechStartUp => EnterpriseKind::EarlyStageTech,
        DomainKind::GraduateStartUp => EnterpriseKind::GraduateStartUp,
        DomainKind::ElderlyCare => EnterpriseKind::ElderlyCare,
        DomainKind::EmployeeBasedDomesticService => EnterpriseKind::EmployeeDomesticService,
        DomainKind::HumanResourcesAgency => EnterpriseKind::HrAgency,
        DomainKind::VocationalSchool => EnterpriseKind::VocationalSchool,
        DomainKind::Incubator => EnterpriseKind::Incubator,
        DomainKind::Other => return None,
    })
}
