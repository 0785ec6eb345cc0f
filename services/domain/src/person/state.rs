//! The state of a person case, folded from its events.

use crate::{
    Date,
    person::{
        BenefitEndReason, BenefitStart, Difficulty, EligibilityFinding, ExitReason, HouseholdMembership, PersonEvent,
        PersonFact, Placement, PlacementEndReason, PlacementKind, Registration, SubsidyGrant, TrainingEnrolment,
    },
    subsidy::{self, ProposalRecord, ProposalStatus},
};

/// A person case: empty until the first registration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonCase {
    file: Option<PersonFile>,
}

/// Everything known about a registered person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFile {
    /// The latest registration's details.
    pub registration: Registration,
    /// Unemployment spells in order; only the last may be open. Never empty.
    pub spells: Vec<UnemploymentSpell>,
    pub difficulties: Vec<DifficultyRecord>,
    pub contact_count: u32,
    pub last_contact_on: Option<Date>,
    pub recommendation_count: u32,
    pub last_recommendation_on: Option<Date>,
    pub trainings: Vec<TrainingRecord>,
    /// Placements in order; only the last may be current.
    pub placements: Vec<PlacementRecord>,
    pub subsidies: Vec<SubsidyRecord>,
    /// Subsidy proposals and their review, in order.
    pub proposals: Vec<ProposalRecord>,
    /// Benefit periods in order; only the last may be running.
    pub benefits: Vec<BenefitRecord>,
    /// Household memberships in order; only the last may be current (one
    /// household at a time).
    pub households: Vec<HouseholdPeriod>,
    /// Eligibilities the service noted (政策找人), in order; one per rule.
    pub eligibilities: Vec<EligibilityRecord>,
    /// When the personal data was erased (PIPL art. 47), unless the person
    /// registered again since.
    pub personal_data_erased: Option<Date>,
}

/// A membership of one household: from the day joined (a registration naming
/// the household, or a join) to the day left, exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdPeriod {
    pub membership: HouseholdMembership,
    pub joined_on: Date,
    /// `None` while a member.
    pub left_on: Option<Date>,
}

/// How an unemployment spell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpellEnd {
    Placed,
    Exited(ExitReason),
}

/// One unemployment spell: from registration to placement or exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnemploymentSpell {
    pub registered_on: Date,
    pub ended: Option<(Date, SpellEnd)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DifficultyRecord {
    pub difficulty: Difficulty,
    pub recognised_on: Date,
}

impl DifficultyRecord {
    /// Holds one of the four special categories (特殊就业困难人员).
    pub fn special(&self) -> bool {
        self.difficulty.categories.iter().any(|c| c.is_special())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingRecord {
    pub enrolment: TrainingEnrolment,
    pub enrolled_on: Date,
    pub completed: Option<(Date, Option<String>)>,
    pub dropped: Option<(Date, String)>,
}

impl TrainingRecord {
    pub fn finished_on(&self) -> Option<Date> {
        self.completed.as_ref().map(|c| c.0).or(self.dropped.as_ref().map(|d| d.0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementRecord {
    pub placement: Placement,
    pub started_on: Date,
    pub ended_on: Option<Date>,
    pub end_reason: Option<PlacementEndReason>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsidyRecord {
    pub grant: SubsidyGrant,
    pub granted_on: Date,
    pub revoked_on: Option<Date>,
    pub revoke_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitRecord {
    pub benefit: BenefitStart,
    pub started_on: Date,
    pub ended_on: Option<Date>,
    pub end_reason: Option<BenefitEndReason>,
}

/// An eligibility the service noted (政策找人).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibilityRecord {
    pub finding: EligibilityFinding,
    /// The day the rule was evaluated.
    pub found_on: Date,
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    RegisteredUnemployed,
    Placed,
    NotRegistered,
}

impl PersonCase {
    /// The folded facts, `None` before the first registration.
    pub fn file(&self) -> Option<&PersonFile> {
        self.file.as_ref()
    }

    /// Folds a sequence of events from empty.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a PersonEvent>) -> Self {
        let mut case = Self::default();
        for e in events {
            case.apply(e);
        }
        case
    }

    /// Folds one event in place. Events `decide` never produces for this state
    /// (e.g. a fact before any registration) leave it unchanged.
    pub fn apply(&mut self, event: &PersonEvent) {
        let on = event.effective_date;
        if let PersonFact::Registered(reg) = &event.fact {
            let spell = UnemploymentSpell { registered_on: on, ended: None };
            let file = self.file.get_or_insert_with(|| PersonFile {
                registration: reg.clone(),
                spells: Vec::new(),
                difficulties: Vec::new(),
                contact_count: 0,
                last_contact_on: None,
                recommendation_count: 0,
                last_recommendation_on: None,
                trainings: Vec::new(),
                placements: Vec::new(),
                subsidies: Vec::new(),
                proposals: Vec::new(),
                benefits: Vec::new(),
                households: Vec::new(),
                eligibilities: Vec::new(),
                personal_data_erased: None,
            });
            file.registration = reg.clone();
            file.personal_data_erased = None;
            file.spells.push(spell);
            // A registration naming a household joins it, unless the person is
            // already its member (then the membership simply continues).
            if let Some(m) = &reg.household {
                if file.current_household().is_none() {
                    file.households.push(HouseholdPeriod { membership: m.clone(), joined_on: on, left_on: None });
                }
            }
            return;
        }
        let Some(file) = &mut self.file else { return };
        match &event.fact {
            PersonFact::Registered(_) => {}
            PersonFact::PersonalDataErased(_) => {
                file.personal_data_erased = Some(on);
                file.registration.resident_id = file.registration.resident_id.withheld(true);
                file.registration.name = None;
            }
            PersonFact::DifficultyRecognised(d) => {
                file.difficulties.push(DifficultyRecord { difficulty: d.clone(), recognised_on: on })
            }
            PersonFact::Contacted(_) => {
                file.contact_count += 1;
                file.last_contact_on = file.last_contact_on.max(Some(on));
            }
            PersonFact::JobRecommended(_) => {
                file.recommendation_count += 1;
                file.last_recommendation_on = file.last_recommendation_on.max(Some(on));
            }
            PersonFact::TrainingEnrolled(t) => file.trainings.push(TrainingRecord {
                enrolment: t.clone(),
                enrolled_on: on,
                completed: None,
                dropped: None,
            }),
            PersonFact::TrainingCompleted(t) => {
                if let Some(r) = file.trainings.iter_mut().find(|r| r.enrolment.training_id == t.training_id) {
                    r.completed = Some((on, t.certificate.clone()));
                }
            }
            PersonFact::TrainingDropped(t) => {
                if let Some(r) = file.trainings.iter_mut().find(|r| r.enrolment.training_id == t.training_id) {
                    r.dropped = Some((on, t.reason.clone()));
                }
            }
            PersonFact::Placed(p) => {
                if let Some(spell) = file.spells.last_mut().filter(|s| s.ended.is_none()) {
                    spell.ended = Some((on, SpellEnd::Placed));
                }
                file.placements.push(PlacementRecord {
                    placement: p.clone(),
                    started_on: on,
                    ended_on: None,
                    end_reason: None,
                });
            }
            PersonFact::PlacementEnded(e) => {
                if let Some(p) = file.placements.last_mut().filter(|p| p.ended_on.is_none()) {
                    p.ended_on = Some(on);
                    p.end_reason = Some(e.reason);
                }
            }
            PersonFact::SubsidyProposed(p) => file.proposals.push(ProposalRecord {
                proposal: p.clone(),
                proposed_on: on,
                status: ProposalStatus::Pending,
            }),
            PersonFact::SubsidyApproved(a) => subsidy::apply_approval(&mut file.proposals, a, on),
            PersonFact::SubsidyProposalRejected(r) => subsidy::apply_rejection(&mut file.proposals, r, on),
            PersonFact::SubsidyGranted(g) => file.subsidies.push(SubsidyRecord {
                grant: g.clone(),
                granted_on: on,
                revoked_on: None,
                revoke_reason: None,
            }),
            PersonFact::SubsidyRevoked(r) => {
                if let Some(s) = file.subsidies.iter_mut().find(|s| s.grant.subsidy_id == r.subsidy_id) {
                    s.revoked_on = Some(on);
                    s.revoke_reason = Some(r.reason.clone());
                }
            }
            PersonFact::BenefitStarted(b) => file.benefits.push(BenefitRecord {
                benefit: b.clone(),
                started_on: on,
                ended_on: None,
                end_reason: None,
            }),
            PersonFact::BenefitEnded(e) => {
                if let Some(b) = file.benefits.last_mut().filter(|b| b.ended_on.is_none()) {
                    b.ended_on = Some(on);
                    b.end_reason = Some(e.reason);
                }
            }
            PersonFact::RegistrationExited(x) => {
                if let Some(spell) = file.spells.last_mut().filter(|s| s.ended.is_none()) {
                    spell.ended = Some((on, SpellEnd::Exited(x.reason)));
                }
            }
            PersonFact::HouseholdJoined(m) => {
                if file.current_household().is_none() {
                    file.households.push(HouseholdPeriod { membership: m.clone(), joined_on: on, left_on: None });
                }
            }
            PersonFact::HouseholdLeft(l) => {
                if let Some(h) = file
                    .households
                    .last_mut()
                    .filter(|h| h.left_on.is_none() && h.membership.household_id == l.household_id)
                {
                    h.left_on = Some(on);
                }
            }
            PersonFact::EligibilityFound(e) => {
                file.eligibilities.push(EligibilityRecord { finding: e.clone(), found_on: on })
            }
        }
    }

    pub fn status(&self) -> Option<CaseStatus> {
        let file = self.file()?;
        Some(if file.open_spell().is_some() {
            CaseStatus::RegisteredUnemployed
        } else if file.current_placement().is_some() {
            CaseStatus::Placed
        } else {
            CaseStatus::NotRegistered
        })
    }
}

impl PersonFile {
    pub fn open_spell(&self) -> Option<&UnemploymentSpell> {
        self.spells.last().filter(|s| s.ended.is_none())
    }

    pub fn latest_spell(&self) -> &UnemploymentSpell {
        // A file is only created by a registration, which pushes a spell.
        &self.spells[self.spells.len() - 1]
    }

    pub fn current_placement(&self) -> Option<&PlacementRecord> {
        self.placements.last().filter(|p| p.ended_on.is_none())
    }

    /// The household the person is a member of now, if any.
    pub fn current_household(&self) -> Option<&HouseholdPeriod> {
        self.households.last().filter(|h| h.left_on.is_none())
    }

    pub fn running_benefit(&self) -> Option<&BenefitRecord> {
        self.benefits.last().filter(|b| b.ended_on.is_none())
    }

    pub fn training(&self, id: &str) -> Option<&TrainingRecord> {
        self.trainings.iter().find(|t| t.enrolment.training_id == id)
    }

    pub fn subsidy(&self, id: &str) -> Option<&SubsidyRecord> {
        self.subsidies.iter().find(|s| s.grant.subsidy_id == id)
    }

    /// The eligibility noted under a catalogue rule, if any.
    pub fn eligibility(&self, rule_id: &str) -> Option<&EligibilityRecord> {
        self.eligibilities.iter().find(|e| e.finding.rule_id == rule_id)
    }

    /// The date the registration was exited for death (000 § 20 动态退出), if it was.
    /// Nobody registers after it, so only the latest spell can say so.
    pub fn deceased_on(&self) -> Option<Date> {
        match self.latest_spell().ended {
            Some((on, SpellEnd::Exited(ExitReason::Deceased))) => Some(on),
            _ => None,
        }
    }

    /// How many public-welfare-post placements (公益性岗位安置) the case holds.
    pub fn public_welfare_placements(&self) -> usize {
        self.placements.iter().filter(|p| p.placement.kind == PlacementKind::PublicWelfarePost).count()
    }

    /// The latest date a spell or a placement ended.
    pub fn last_end(&self) -> Option<Date> {
        let spell_end = self.spells.iter().filter_map(|s| s.ended.map(|e| e.0)).max();
        let placement_end = self.placements.iter().filter_map(|p| p.ended_on).max();
        spell_end.max(placement_end)
    }
}
