//! Lifecycles: the spells, facts and outcomes planned for one person and the
//! order they are recorded in (the driver in `generate.rs` runs them).

use super::*;

mod placements;

/// The order of facts recorded on one day of one spell: what needs the
/// registration open comes before what closes it.
mod order {
    pub const REGISTER: u8 = 0;
    pub const DIFFICULTY: u8 = 1;
    pub const BENEFIT_START: u8 = 2;
    pub const CONTACT: u8 = 3;
    pub const RECOMMEND: u8 = 4;
    pub const ENROL: u8 = 5;
    pub const FINISH_TRAINING: u8 = 6;
    pub const EXIT: u8 = 7;
    pub const PLACE: u8 = 8;
    pub const BENEFIT_END: u8 = 9;
    pub const PROPOSE: u8 = 10;
    pub const APPROVE: u8 = 11;
    pub const REVOKE: u8 = 12;
    pub const END_PLACEMENT: u8 = 13;
    pub const LEAVE_HOUSEHOLD: u8 = 14;
}

/// One planned command.
#[derive(Debug, Clone)]
pub(super) struct Step {
    pub(super) date: Date,
    /// The spell it belongs to (1, 2, …): a spell's facts of a day come before
    /// the next spell's registration that day.
    pub(super) spell: u8,
    pub(super) order: u8,
    /// Where the person lives: the office (street) and caseworker (community).
    pub(super) place: PlaceRef,
    pub(super) command: PersonCommand,
    /// The rejection this step provokes on purpose.
    pub(super) expect: Option<RejectionCode>,
}

/// How a spell ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Placed(Date),
    Exited(Date, ExitReason),
    /// Still open after the window.
    Open,
}

impl Outcome {
    fn date(self) -> Option<Date> {
        match self {
            Self::Placed(d) | Self::Exited(d, _) => Some(d),
            Self::Open => None,
        }
    }
}

/// A person's commands, in the order they are sent.
pub(super) fn plan_person(
    cfg: &GeneratorConfig,
    places: &Places,
    population: &Population,
    index: usize,
) -> anyhow::Result<Vec<Step>> {
    let m = &population.members[index];
    let hh = &population.households[m.household as usize];
    let mut planner = Planner {
        rng: rng_for(cfg.seed, "life", index as u64),
        index,
        start: cfg.start,
        end: cfg.end,
        places,
        hh,
        m,
        steps: Vec::new(),
        spell: 0,
        place: m.home,
        trainings: 0,
        subsidies: 0,
        public_welfare_posts: 0,
        difficulty: false,
        special: false,
        malanhua: None,
        leaves_on: None,
    };
    planner.plan()?;
    let mut steps = planner.steps;
    steps.sort_by_key(|s| (s.date, s.spell, s.order));
    Ok(steps)
}

struct Planner<'a> {
    rng: ChaCha8Rng,
    index: usize,
    start: Date,
    end: Date,
    places: &'a Places,
    hh: &'a Household,
    m: &'a Member,
    steps: Vec<Step>,
    /// The current spell's number (1, 2, …).
    spell: u8,
    /// Where the person lives now.
    place: PlaceRef,
    trainings: u32,
    subsidies: u32,
    public_welfare_posts: u32,
    /// Recognised as having employment difficulty.
    difficulty: bool,
    /// … in one of the special categories.
    special: bool,
    /// The last completed start-up training: completion date and provider.
    malanhua: Option<(Date, String)>,
    /// A grown child who moves out leaves the household on this day; later
    /// registrations name no household.
    leaves_on: Option<Date>,
}

impl Planner<'_> {
    fn push(&mut self, date: Date, order: u8, command: PersonCommand) {
        self.steps.push(Step { date, spell: self.spell, order, place: self.place, command, expect: None });
    }

    fn female(&self) -> bool {
        self.m.gender == Gender::Female
    }

    fn age_on(&self, d: Date) -> u32 {
        full_years_between(self.m.birth, d)
    }

    fn retirement(&self) -> Date {
        let age = if self.female() { RETIREMENT_WOMEN } else { RETIREMENT_MEN };
        plus_months(self.m.birth, 12 * age)
    }

    fn district_code(&self) -> &'static str {
        self.places.district(self.place).code
    }

    /// Hukou in the district the person lives in.
    fn local(&self) -> bool {
        self.hh.hukou.as_str() == self.district_code()
    }

    fn zero_employment(&self) -> bool {
        self.hh.zero_employment_on.is_some()
    }

    fn plan(&mut self) -> anyhow::Result<()> {
        let first = self.first_registration();
        if self.m.relation == HouseholdRelation::Child && self.rng.random_bool(0.03) {
            self.leaves_on = Some(plus_days(first, self.rng.random_range(30..=720))).filter(|l| *l <= self.end);
        }
        let mut next = Some(first);
        while let Some(r) = next {
            if r > self.end || self.spell >= MAX_SPELLS || plus_days(r, 90) >= self.retirement() {
                break;
            }
            if self.spell > 0 && self.rng.random_bool(0.08) {
                // Moved within the district since the last spell.
                self.place = self.places.pick_in(&mut self.rng, self.place.district);
            }
            self.spell += 1;
            next = self.spell_from(r)?;
        }
        if let (Some(on), true) = (self.leaves_on, self.spell > 0) {
            let leave = HouseholdLeave { household_id: self.hh.id };
            self.push(on, order::LEAVE_HOUSEHOLD, PersonCommand::LeaveHousehold(leave));
        }
        Ok(())
    }

    fn first_registration(&mut self) -> Date {
        let (start, end) = (self.start, self.end);
        if let Some(z) = self.hh.zero_employment_on {
            // The household is identified; its members register within days.
            return plus_days(z, self.rng.random_range(0..=3)).min(end);
        }
        if let Some(g) = self.m.graduation.as_ref().filter(|_| self.m.recent_graduate) {
            let summer = ymd(g.year, 7, 1);
            let date = if self.rng.random_bool(0.6) {
                plus_days(summer, self.rng.random_range(0..=90))
            } else {
                day_between(&mut self.rng, summer, plus_months(summer, 24))
            };
            if (start..=end).contains(&date) {
                return date;
            }
            let lo = summer.clamp(start, end);
            return day_between(&mut self.rng, lo, plus_months(summer, 24).clamp(lo, end));
        }
        day_between(&mut self.rng, start, end)
    }

    fn registration(&self, on: Date) -> anyhow::Result<Registration> {
        let m = self.m;
        let t = m.traits;
        let mut groups = BTreeSet::new();
        let mut add = |on: bool, g: PersonGroup| {
            if on {
                groups.insert(g);
            }
        };
        add(m.recent_graduate, PersonGroup::Graduate);
        add(m.after_school && self.spell == 1, PersonGroup::GraduateUnemployedAfterSchool);
        add(t.haihe_talent, PersonGroup::HaiheTalent);
        add(t.rural_labour, PersonGroup::RuralLabour);
        add(t.poor_village, PersonGroup::PoorVillageLabour);
        add(t.migrant_worker, PersonGroup::MigrantWorker);
        add(t.returning_founder, PersonGroup::ReturningFounder);
        add(t.veteran, PersonGroup::Veteran);
        add(t.disabled, PersonGroup::Disabled);
        add(t.military_spouse, PersonGroup::MilitarySpouse);
        add(t.registered_poor, PersonGroup::RegisteredPoorLabour);
        add(t.relocated_farmer, PersonGroup::RelocatedFarmer);
        add(self.zero_employment() && self.spell == 1, PersonGroup::ZeroEmploymentHousehold);
        add(self.hh.minimum_allowance, PersonGroup::MinimumLivingAllowance);
        add(self.hh.low_income, PersonGroup::LowIncomeFamily);
        add(self.hh.single_parent && m.relation == HouseholdRelation::Head, PersonGroup::SingleParent);
        add(t.supports_ill_relative, PersonGroup::SupportsSeriouslyIllRelative);
        Ok(Registration {
            resident_id: m.resident_id.clone().into(),
            name: Some(m.name.clone()),
            hukou: Hukou { county: self.hh.hukou.clone(), nature: self.hh.nature },
            residence: self.places.residence(self.place)?,
            education: m.education,
            graduation: m.graduation.clone(),
            household: Some(HouseholdMembership { household_id: self.hh.id, relation: m.relation })
                .filter(|_| self.leaves_on.is_none_or(|l| on < l)),
            groups,
        })
    }

    /// The difficulty categories a recognition on `on` would carry.
    fn difficulty_categories(&mut self, on: Date) -> BTreeSet<DifficultyCategory> {
        let mut c = BTreeSet::new();
        let (hh, t) = (self.hh, self.m.traits);
        let age = self.age_on(on);
        let (age4050, older) = if self.female() { (age >= 40, age >= 35) } else { (age >= 50, age >= 45) };
        let mut add = |on: bool, p: f64, category: DifficultyCategory, rng: &mut ChaCha8Rng| {
            if on && rng.random_bool(p) {
                c.insert(category);
            }
        };
        let zero = self.zero_employment() && self.spell == 1;
        add(zero, 0.9, DifficultyCategory::ZeroEmploymentHousehold, &mut self.rng);
        add(hh.minimum_allowance, 0.8, DifficultyCategory::MinimumLivingAllowanceHousehold, &mut self.rng);
        let single_parent = hh.single_parent && self.m.relation == HouseholdRelation::Head;
        add(single_parent, 0.8, DifficultyCategory::SingleParentHousehold, &mut self.rng);
        add(t.supports_ill_relative, 0.8, DifficultyCategory::SupportsSeriouslyIllRelative, &mut self.rng);
        add(t.disabled, 0.7, DifficultyCategory::Disabled, &mut self.rng);
        add(t.registered_poor, 0.6, DifficultyCategory::RegisteredPoorLabour, &mut self.rng);
        add(age4050, 0.08, DifficultyCategory::Age4050, &mut self.rng);
        add(older && !age4050, 0.05, DifficultyCategory::OlderWorker, &mut self.rng);
        c
    }

    /// Plans one spell registered on `r`; returns the next registration's date.
    fn spell_from(&mut self, r: Date) -> anyhow::Result<Option<Date>> {
        let registration = self.registration(r)?;
        self.push(r, order::REGISTER, PersonCommand::RegisterUnemployment(registration.clone()));

        let categories = self.difficulty_categories(r);
        if !categories.is_empty() {
            self.difficulty = true;
            self.special |= categories.iter().any(|c| c.is_special());
        }
        let outcome = self.outcome(r);
        let spell_end = outcome.date().filter(|d| *d <= self.end);
        // The last day facts of the open registration can be dated.
        let last = spell_end.unwrap_or(self.end);

        // A second office tries to register the person again (rejected on purpose).
        if self.spell == 1 && last > r && self.rng.random_bool(0.003) {
            let d = plus_days(r, self.rng.random_range(1..=5)).min(last);
            self.steps.push(Step {
                date: d,
                spell: self.spell,
                order: order::REGISTER,
                place: self.place,
                command: PersonCommand::RegisterUnemployment(registration),
                expect: Some(RejectionCode::AlreadyRegistered),
            });
        }

        if !categories.is_empty() {
            let on = if self.zero_employment() { r } else { plus_days(r, self.rng.random_range(0..=10)).min(last) };
            self.recognise(on, categories, 36);
        }
        let long_term_mark = plus_days(plus_months(r, 6), self.rng.random_range(5..=30));
        if long_term_mark <= last && outcome.date().is_none_or(|d| d > long_term_mark) && self.rng.random_bool(0.35) {
            let mut categories = BTreeSet::from([DifficultyCategory::LongTermUnemployed]);
            let age = self.age_on(long_term_mark);
            if age >= if self.female() { 40 } else { 50 } {
                categories.insert(DifficultyCategory::Age4050);
            }
            self.difficulty = true;
            self.recognise(long_term_mark, categories, 12);
        }

        self.matchmaker_and_followups(r, last);
        self.benefit(r, outcome, spell_end, last);
        if !matches!(outcome, Outcome::Exited(_, ExitReason::Deceased)) {
            self.training(r, last);
        }

        match outcome {
            Outcome::Placed(p) if p <= self.end => {
                let free_from = self.placement(r, p)?;
                Ok(match free_from {
                    Some(q) if self.rng.random_bool(0.7) => Some(plus_days(q, self.rng.random_range(0..=45))),
                    _ => None,
                })
            }
            Outcome::Exited(x, reason) if x <= self.end => {
                self.push(x, order::EXIT, PersonCommand::ExitRegistration(RegistrationExit { reason }));
                let again = match reason {
                    ExitReason::NoLongerSeeking => 0.35,
                    ExitReason::Employed => 0.3,
                    ExitReason::EnteredSchool => 0.2,
                    ExitReason::MovedAway => 0.1,
                    ExitReason::Other => 0.3,
                    _ => 0.0,
                };
                Ok(self.rng.random_bool(again).then(|| plus_days(x, self.rng.random_range(30..=240))))
            }
            _ => Ok(None),
        }
    }

    fn recognise(&mut self, on: Date, categories: BTreeSet<DifficultyCategory>, months: u32) {
        let to = plus_months(on, months).pred_opt().unwrap_or(on);
        let valid = DateRange { from: on, to };
        self.push(on, order::DIFFICULTY, PersonCommand::RecogniseDifficulty(Difficulty { categories, valid }));
    }

    /// How the spell registered on `r` ends, and when.
    fn outcome(&mut self, r: Date) -> Outcome {
        let zero_head = self.zero_employment() && self.m.relation == HouseholdRelation::Head && self.spell == 1;
        let p_place = if zero_head {
            1.0
        } else if self.m.recent_graduate {
            0.97
        } else if self.difficulty {
            0.95
        } else if self.age_on(r) >= 50 {
            0.90
        } else {
            0.95
        };
        let outcome = if self.rng.random_bool(p_place) {
            let days = if zero_head {
                self.rng.random_range(5..=25)
            } else {
                let (lo, hi) = choose(
                    &mut self.rng,
                    &[((1u64, 7u64), 0.35), ((8, 30), 0.35), ((31, 90), 0.18), ((91, 182), 0.07), ((183, 330), 0.05)],
                );
                self.rng.random_range(lo..=hi)
            };
            Outcome::Placed(plus_days(r, days))
        } else if self.rng.random_bool(0.75) {
            let (young, older) = (self.age_on(r) < 25, self.age_on(r) > 45);
            let male = !self.female();
            let reason = choose(
                &mut self.rng,
                &[
                    (ExitReason::MovedAway, 0.20),
                    (ExitReason::NoLongerSeeking, 0.25),
                    (ExitReason::Employed, 0.30),
                    (ExitReason::Other, 0.05),
                    (ExitReason::EnteredSchool, if young { 0.15 } else { 0.0 }),
                    (ExitReason::Enlisted, if young && male { 0.10 } else { 0.0 }),
                    (ExitReason::Deceased, if older { 0.01 } else { 0.0 }),
                ],
            );
            Outcome::Exited(plus_days(r, self.rng.random_range(20..=240)), reason)
        } else if self.rng.random_bool(0.5) {
            Outcome::Exited(plus_days(r, self.rng.random_range(365..=540)), ExitReason::NoLongerSeeking)
        } else {
            Outcome::Open
        };
        // Reaching retirement age ends an open registration first.
        let retirement = self.retirement();
        if retirement > r && outcome.date().is_none_or(|d| d > retirement) {
            return Outcome::Exited(retirement, ExitReason::ReachedRetirementAge);
        }
        outcome
    }

    fn contact(&mut self, on: Date, channel: ContactChannel, outcome: ContactOutcome, note: &str) {
        let contact = Contact { channel, outcome, note: note.to_string() };
        self.push(on, order::CONTACT, PersonCommand::RecordContact(contact));
    }

    fn recommend(&mut self, on: Date, two_way: bool) {
        let district = self.district_code();
        let n = self.rng.random_range(0..400);
        let recommendation = JobRecommendation {
            vacancy_id: format!("V-{district}-{}-{:04}", on.format("%Y%m"), self.rng.random_range(0..10_000)),
            enterprise: Some(employer_code("91", district, n)),
            two_way,
        };
        self.push(on, order::RECOMMEND, PersonCommand::RecommendJob(recommendation));
    }

    /// The community matchmaker's answer (same-day contact, two-way
    /// recommendation within 3 days), monthly follow-ups, more recommendations.
    fn matchmaker_and_followups(&mut self, r: Date, last: Date) {
        let same_day = self.rng.random_bool(0.96);
        if same_day {
            self.contact(r, ContactChannel::InPerson, ContactOutcome::StillSeeking, "登记当日首次面谈，了解求职意向");
        }
        let mut m = month_start(r);
        while m <= last {
            let (lo, hi) = (m.max(r), plus_months(m, 1).pred_opt().unwrap_or(m).min(last));
            if !(m == month_start(r) && same_day) && self.rng.random_bool(0.95) {
                let on = day_between(&mut self.rng, lo, hi);
                let channel = choose(
                    &mut self.rng,
                    &[
                        (ContactChannel::Phone, 0.50),
                        (ContactChannel::InPerson, 0.25),
                        (ContactChannel::Online, 0.10),
                        (ContactChannel::HomeVisit, if self.difficulty { 0.15 } else { 0.05 }),
                        (ContactChannel::Sms, 0.05),
                    ],
                );
                let outcome = choose(
                    &mut self.rng,
                    &[
                        (ContactOutcome::StillSeeking, 0.86),
                        (ContactOutcome::NotReached, 0.10),
                        (ContactOutcome::NotSeeking, 0.04),
                    ],
                );
                self.contact(on, channel, outcome, "月度跟踪服务");
            }
            m = plus_months(m, 1);
        }

        let u: f64 = self.rng.random();
        if u < 0.94 {
            let days = if self.rng.random_bool(0.55) { 0 } else { self.rng.random_range(1..=3) };
            self.recommend(plus_days(r, days).min(last), true);
        } else if u < 0.97 {
            let on = plus_days(r, self.rng.random_range(4..=10));
            if on <= last {
                self.recommend(on, true);
            }
        }
        let mut t = plus_days(r, self.rng.random_range(5..=15));
        let mut more = 0;
        while t <= last && more < 20 {
            if self.rng.random_bool(0.85) {
                let two_way = self.rng.random_bool(0.3);
                self.recommend(t, two_way);
                more += 1;
            }
            t = plus_days(t, self.rng.random_range(5..=15));
        }
    }

    /// Unemployment insurance benefit (失业保险金) for some with an insured past.
    fn benefit(&mut self, r: Date, outcome: Outcome, spell_end: Option<Date>, last: Date) {
        let insured_past = self.age_on(r) >= 25 && !(self.m.recent_graduate && self.spell == 1);
        if !insured_past || (last - r).num_days() < 7 || !self.rng.random_bool(0.22) {
            return;
        }
        let start = plus_days(r, self.rng.random_range(0..=15)).min(last);
        let months = choose(&mut self.rng, &[(3u32, 1.0), (6, 2.0), (9, 1.0), (12, 3.0), (18, 1.0), (24, 1.0)]);
        let retirement = self.retirement();
        let exhausted = plus_months(start, months);
        let extended_to_retirement = exhausted < retirement && (retirement - exhausted).num_days() < 365;
        self.push(
            start,
            order::BENEFIT_START,
            PersonCommand::StartBenefit(BenefitStart { months, extended_to_retirement }),
        );
        let nominal_end = if extended_to_retirement { retirement } else { exhausted };
        let (on, reason) = match spell_end {
            Some(e) if e < nominal_end => {
                let reason = match outcome {
                    Outcome::Placed(_) | Outcome::Exited(_, ExitReason::Employed) => BenefitEndReason::Employed,
                    Outcome::Exited(_, ExitReason::ReachedRetirementAge) => BenefitEndReason::Retired,
                    _ => BenefitEndReason::Other,
                };
                (e, reason)
            }
            _ if nominal_end <= last => (
                nominal_end,
                if extended_to_retirement { BenefitEndReason::Retired } else { BenefitEndReason::Exhausted },
            ),
            _ => return,
        };
        self.push(on, order::BENEFIT_END, PersonCommand::EndBenefit(BenefitEnd { reason }));
    }

    /// Training during the spell: vocational skills, start-up ("马兰花"), SIYB, online.
    fn training(&mut self, r: Date, last: Date) {
        let long = (last - r).num_days() > 60;
        if !self.rng.random_bool(if long { 0.35 } else { 0.10 }) {
            return;
        }
        let age = self.age_on(r);
        let founder_age = (22..=50).contains(&age);
        let programme = choose(
            &mut self.rng,
            &[
                (TrainingProgramme::VocationalSkills, 0.55),
                (TrainingProgramme::StartUpMalanhua, if founder_age { 0.30 } else { 0.05 }),
                (TrainingProgramme::ImproveYourBusiness, if founder_age { 0.05 } else { 0.0 }),
                (TrainingProgramme::OnlineVocational, 0.10),
            ],
        );
        let enrolled = plus_days(r, self.rng.random_range(5..=45));
        let enrolled = if enrolled <= last { enrolled } else { day_between(&mut self.rng, r, last) };
        let district = self.places.district(self.place);
        let provider = match programme {
            TrainingProgramme::StartUpMalanhua | TrainingProgramme::ImproveYourBusiness => {
                format!("{}区创业指导中心", district.name.trim_end_matches('区'))
            }
            _ => format!("{}区职业技能培训学校", district.name.trim_end_matches('区')),
        };
        self.trainings += 1;
        let training_id = format!("T{}-{}", self.spell, self.trainings);
        self.push(
            enrolled,
            order::ENROL,
            PersonCommand::EnrolTraining(TrainingEnrolment {
                training_id: training_id.clone(),
                programme,
                provider: provider.clone(),
            }),
        );
        let days = match programme {
            TrainingProgramme::VocationalSkills => self.rng.random_range(15..=60),
            TrainingProgramme::StartUpMalanhua => self.rng.random_range(10..=14),
            TrainingProgramme::ImproveYourBusiness => self.rng.random_range(5..=7),
            TrainingProgramme::OnlineVocational => self.rng.random_range(7..=30),
        };
        let finished = plus_days(enrolled, days);
        if finished > self.end {
            return; // still in training
        }
        if self.rng.random_bool(0.12) {
            let dropped = plus_days(enrolled, self.rng.random_range(1..=days));
            let reason = "个人原因中途退出".to_string();
            self.push(
                dropped,
                order::FINISH_TRAINING,
                PersonCommand::DropTraining(TrainingDrop { training_id, reason }),
            );
            return;
        }
        let certificate = match programme {
            TrainingProgramme::VocationalSkills => {
                Some(format!("职业技能等级证书 ZS{:08}", self.rng.random_range(0..100_000_000)))
            }
            TrainingProgramme::StartUpMalanhua => {
                Some(format!("创业培训合格证书 CY{:08}", self.rng.random_range(0..100_000_000)))
            }
            TrainingProgramme::ImproveYourBusiness => {
                Some(format!("SIYB合格证书 {:08}", self.rng.random_range(0..100_000_000)))
            }
            TrainingProgramme::OnlineVocational => None,
        };
        self.push(
            finished,
            order::FINISH_TRAINING,
            PersonCommand::CompleteTraining(TrainingCompletion { training_id, certificate }),
        );
        match programme {
            TrainingProgramme::StartUpMalanhua => {
                self.malanhua = Some((finished, provider.clone()));
                let on = plus_days(finished, self.rng.random_range(10..=40));
                let period = (finished, finished);
                self.grant(on, "startup-training", "002#40", 500, period, Payee::TrainingProvider(provider));
                if self.hh.hukou.as_str() == "120111" && self.district_code() == "120111" {
                    self.grant(on, "xiqing-startup-training", "000#13", 500, period, Payee::Person);
                }
            }
            TrainingProgramme::VocationalSkills if self.district_code() == "120101" && self.difficulty => {
                let on = plus_days(finished, self.rng.random_range(10..=40));
                self.grant(on, "training-living-allowance", "004#20", 1000, (enrolled, finished), Payee::Person);
            }
            TrainingProgramme::OnlineVocational if self.district_code() == "120101" => {
                let on = plus_days(finished, self.rng.random_range(10..=40));
                self.grant(
                    on,
                    "online-training",
                    "004#19",
                    600,
                    (enrolled, finished),
                    Payee::TrainingProvider(provider),
                );
            }
            _ => {}
        }
    }
}

/// A unified social credit code (GB 32100-2015) of a generated employer:
/// registration authority and kind (`91` enterprise, `92` individual business,
/// `12` public institution, `52` social organisation), the district, nine
/// characters numbering the employer, and the check character.
fn employer_code(kind: &str, district: &str, n: u32) -> CreditCode {
    const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    // Spread the numbers over the code space; "MA" marks the newer codes.
    let mut x = u64::from(n).wrapping_mul(2_654_435_761) ^ u64::from(district.parse::<u32>().unwrap_or(0));
    let mut body = format!("{kind}{district}MA");
    for _ in 0..7 {
        body.push(char::from(ALPHABET[(x % 31) as usize]));
        x /= 31;
    }
    // The body is built from the code's alphabet, 17 characters long.
    let check = CreditCode::check_character(&body).expect("a 17-character body from the code's alphabet");
    body.push(check);
    CreditCode::parse(&body).expect("built with the check character of GB 32100-2015, from its alphabet")
}
