//! What a decision needs to know: the facts of the person and/or enterprise,
//! the grants already received, and the grant asked for.
//!
//! The evaluation reads nothing else: callers look the facts up (from the
//! person case, the enterprise case, the social-insurance system) and place
//! them here. [`PersonFacts::from_file`] derives what the person case holds.
//!
//! Facts are personal data: a [`crate::Decision`] built from them explains
//! itself with ages, months and dates, and must not be logged.

use std::collections::BTreeSet;

use leye_domain::{
    Date,
    person::{DifficultyCategory, PersonFile, PersonGroup, PlacementKind, TrainingProgramme},
    values::{CountyCode, DateRange, DistrictCode, Fen, Gender},
};

use crate::model::{Attestation, EnterpriseKind, PayeeKind, PostType};

/// Everything known about the case(s) a grant concerns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The person, for person-subject rules (and hires, placements, start-ups).
    pub person: Option<PersonFacts>,
    /// The enterprise: the employer, the payee or the subject.
    pub enterprise: Option<EnterpriseFacts>,
    /// Facts a caseworker attests that no case holds (经营稳定, 首次创业, …).
    pub attested: BTreeSet<Attestation>,
    /// Grants already received by the case (not revoked), any programme.
    pub prior_grants: Vec<PriorGrant>,
}

/// The person's facts on the decision date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFacts {
    /// From the resident ID (characters 7-14).
    pub birth_date: Date,
    /// From the resident ID (17th digit).
    pub gender: Gender,
    /// For women: worker or cadre post, which sets the retirement age.
    pub post_type: Option<PostType>,
    /// Hukou county (户籍地).
    pub hukou: Option<CountyCode>,
    pub groups: BTreeSet<PersonGroup>,
    /// Every difficulty recognition made by the date, each with its
    /// validity: a rule judges the one valid on its deciding date (the hire,
    /// the business; else the grant's date), see [`PersonFacts::difficulty_on`].
    pub difficulties: Vec<DifficultyFacts>,
    pub graduation: Option<GraduationFacts>,
    /// The unemployment registrations (spells) begun on or before the date,
    /// oldest first: a rule judges them on its deciding date (the training,
    /// the hire, the registration; else the grant's date).
    pub spells: Vec<SpellFacts>,
    /// The placement the grant concerns (the current or latest one).
    pub placement: Option<PlacementFacts>,
    /// Months of social insurance paid in the placement (from the insurance system).
    pub insured_months: Option<u32>,
    /// Trainings completed.
    pub trainings: Vec<TrainingFacts>,
    /// The business the person founded, if any.
    pub business: Option<BusinessFacts>,
    /// Public-welfare placements in total, including the current one.
    pub public_welfare_placements: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DifficultyFacts {
    pub categories: BTreeSet<DifficultyCategory>,
    /// When the recognition (认定) was made; a new recognition after a
    /// subsidy expired allows a renewal.
    pub recognised_on: Date,
    /// The days the recognition is valid, both included.
    pub valid: DateRange,
}

impl DifficultyFacts {
    pub fn special(&self) -> bool {
        self.categories.iter().any(|c| c.is_special())
    }

    pub fn valid_on(&self, date: Date) -> bool {
        self.valid.from <= date && date <= self.valid.to
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraduationFacts {
    /// The graduation date; when only the year is known, 30 June of that year
    /// (Chinese universities graduate in June; see `from_file`).
    pub graduated_on: Date,
    /// 本市高校毕业生: Tianjin origin (本市生源) or a Tianjin school (本市院校).
    pub tianjin_graduate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpellFacts {
    pub registered_on: Date,
    /// When the spell ended (placement, exit), if it did by the date. The
    /// registration is no longer open on that day.
    pub ended_on: Option<Date>,
}

impl SpellFacts {
    /// Was the registration open on `date` (registered by then, not ended)?
    pub fn open_on(&self, date: Date) -> bool {
        self.registered_on <= date && self.ended_on.is_none_or(|e| date < e)
    }

    /// The last day the registration was open, if it has ended.
    pub fn last_open_day(&self) -> Option<Date> {
        self.ended_on.map(|e| e.pred_opt().unwrap_or(e).max(self.registered_on))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementFacts {
    pub kind: PlacementKind,
    pub started_on: Date,
    /// The labour contract's term in months. `None`: no fixed term
    /// (无固定期限劳动合同) for placements under a labour contract (enterprise,
    /// public-welfare and community-service posts); no contract otherwise.
    pub contract_months: Option<u32>,
    pub ended_on: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingFacts {
    pub programme: TrainingProgramme,
    pub completed_on: Date,
    pub certificate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessFacts {
    /// Business licence date (营业执照).
    pub registered_on: Date,
    /// People employed (带动就业人数), the founder not counted.
    pub employees: u32,
    /// Where the business is registered (在本区创业), when known.
    pub district: Option<DistrictCode>,
}

/// The enterprise's facts on the decision date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnterpriseFacts {
    pub kinds: BTreeSet<EnterpriseKind>,
    pub district: Option<DistrictCode>,
    /// Insured employees now.
    pub insured_employees: u32,
    /// Months the enterprise has paid unemployment insurance.
    pub insured_months: u32,
    /// People laid off in the reference year (for the layoff rate).
    pub layoffs: u32,
    /// New hires this year meeting the loan's conditions.
    pub new_hires: u32,
    /// Of those, hires with the district's hukou.
    pub new_hires_local_hukou: u32,
}

/// A grant already received (not revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorGrant {
    pub programme: String,
    /// The rule id, when recorded.
    pub rule_id: Option<String>,
    pub amount: Option<Fen>,
    pub period: DateRange,
    pub granted_on: Date,
}

/// A loan for an interest subsidy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanFacts {
    pub principal: Fen,
    pub months: u32,
    /// The reference rate is the one on the contract date (贷款合同签订日).
    pub contract_date: Date,
}

/// The grant asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRequest {
    /// The rule the grant names.
    pub rule_id: String,
    /// The district granting (the case's office).
    pub district: DistrictCode,
    /// The effective date of the grant.
    pub on: Date,
    pub payee: PayeeKind,
    /// The amount proposed; `None`: the most the rule allows.
    pub amount: Option<Fen>,
    /// The months covered, for periodic subsidies: whole calendar months.
    pub period: Option<DateRange>,
    /// Units for per-unit amounts and batch sizes (people sent, new jobs, tenants).
    pub units: Option<u32>,
    /// The base of a share-of-base amount (premiums paid, contributions, standard).
    pub base: Option<Fen>,
    pub loan: Option<LoanFacts>,
}

impl GrantRequest {
    /// A request for the most a rule allows, with no period or units.
    pub fn new(rule_id: impl Into<String>, district: DistrictCode, on: Date, payee: PayeeKind) -> Self {
        Self {
            rule_id: rule_id.into(),
            district,
            on,
            payee,
            amount: None,
            period: None,
            units: None,
            base: None,
            loan: None,
        }
    }
}

impl PersonFacts {
    /// The difficulty recognition valid on `date` (the latest made, when
    /// several are).
    pub fn difficulty_on(&self, date: Date) -> Option<&DifficultyFacts> {
        self.difficulties.iter().filter(|d| d.valid_on(date)).max_by_key(|d| d.recognised_on)
    }

    /// The latest unemployment spell begun on or before `date`.
    pub fn spell_by(&self, date: Date) -> Option<&SpellFacts> {
        self.spells.iter().rfind(|s| s.registered_on <= date)
    }

    /// The facts a person case holds on `on`, and the grants it received by
    /// then (not revoked by then). Post type, insured months and the business
    /// are not in the case: set them afterwards.
    ///
    /// Assumptions, stated: a graduation known only by its year is dated 30
    /// June of that year; "本市高校毕业生" is a Tianjin school or a Tianjin hukou
    /// (本市生源); the placement is the latest one started by `on`.
    pub fn from_file(file: &PersonFile, on: Date) -> (Self, Vec<PriorGrant>) {
        let reg = &file.registration;
        let id = &reg.resident_id;
        let difficulties = file
            .difficulties
            .iter()
            .filter(|d| d.recognised_on <= on)
            .map(|d| DifficultyFacts {
                categories: d.difficulty.categories.clone(),
                recognised_on: d.recognised_on,
                valid: d.difficulty.valid,
            })
            .collect();
        let graduation = reg.graduation.as_ref().and_then(|g| {
            Date::from_ymd_opt(g.year, 6, 30).map(|graduated_on| GraduationFacts {
                graduated_on,
                tianjin_graduate: g.tianjin_school || reg.hukou.county.is_tianjin(),
            })
        });
        let spells = file
            .spells
            .iter()
            .filter(|s| s.registered_on <= on)
            .map(|s| SpellFacts { registered_on: s.registered_on, ended_on: s.ended.map(|e| e.0).filter(|d| *d <= on) })
            .collect();
        let placement = file.placements.iter().rfind(|p| p.started_on <= on).map(|p| PlacementFacts {
            kind: p.placement.kind,
            started_on: p.started_on,
            contract_months: p.placement.contract_months,
            ended_on: p.ended_on.filter(|d| *d <= on),
        });
        let trainings = file
            .trainings
            .iter()
            .filter_map(|t| {
                let (done, cert) = t.completed.as_ref()?;
                (*done <= on).then(|| TrainingFacts {
                    programme: t.enrolment.programme,
                    completed_on: *done,
                    certificate: cert.is_some(),
                })
            })
            .collect();
        let public_welfare_placements = file
            .placements
            .iter()
            .filter(|p| p.started_on <= on && p.placement.kind == PlacementKind::PublicWelfarePost)
            .count() as u32;
        let grants = file
            .subsidies
            .iter()
            .filter(|s| s.granted_on <= on && s.revoked_on.is_none_or(|r| r > on))
            .map(|s| PriorGrant {
                programme: s.grant.programme.clone(),
                rule_id: Some(s.grant.policy_clause.clone()).filter(|c| c.contains('.') && !c.contains(' ')),
                amount: Some(s.grant.amount),
                period: s.grant.period,
                granted_on: s.granted_on,
            })
            .collect();
        let facts = Self {
            birth_date: id.birth_date(),
            gender: id.gender(),
            post_type: None,
            hukou: Some(reg.hukou.county.clone()),
            groups: reg.groups.clone(),
            difficulties,
            graduation,
            spells,
            placement,
            insured_months: None,
            trainings,
            business: None,
            public_welfare_placements,
        };
        (facts, grants)
    }
}
