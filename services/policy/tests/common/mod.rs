//! A small builder for grant cases: `case(clause, rule, date)` … `.granted()` /
//! `.refused("check")`, run against the shipped catalogue.
#![allow(dead_code)]

use std::collections::BTreeSet;

use leye_domain::{
    Date,
    person::{DifficultyCategory, PersonGroup, PlacementKind, TrainingProgramme},
    values::{CountyCode, DateRange, DistrictCode, Fen, Gender},
};
use leye_policy::{
    Attestation, BusinessFacts, Decision, DifficultyFacts, EnterpriseFacts, EnterpriseKind, Facts, GraduationFacts,
    GrantRequest, Jurisdiction, LoanFacts, PersonFacts, PlacementFacts, PostType, PriorGrant, SpellFacts,
    TrainingFacts,
};

pub fn d(s: &str) -> Date {
    Date::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|_| panic!("bad date {s}"))
}

pub fn fen(v: i64) -> Fen {
    Fen::positive(v).unwrap()
}

pub fn district(s: &str) -> DistrictCode {
    DistrictCode::parse(s).unwrap()
}

/// A man born 1980-06-15 with Xiqing hukou, nothing else.
pub fn person() -> PersonFacts {
    PersonFacts {
        birth_date: d("1980-06-15"),
        gender: Gender::Male,
        post_type: None,
        hukou: Some(CountyCode::parse("120111").unwrap()),
        groups: BTreeSet::new(),
        difficulties: Vec::new(),
        graduation: None,
        spells: Vec::new(),
        placement: None,
        insured_months: None,
        trainings: Vec::new(),
        business: None,
        public_welfare_placements: 0,
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub clause: &'static str,
    pub facts: Facts,
    pub request: GrantRequest,
    pub expect: Option<&'static str>,
    pub expect_amount: Option<i64>,
}

/// A case for `rule` on `on`, in the rule's district (Xiqing for city rules),
/// paying the rule's payee, with a default person.
pub fn case(clause: &'static str, rule: &'static str, on: &str) -> Case {
    let cat = leye_policy::default_catalogue();
    let r = cat.versions(rule).first().copied().unwrap_or_else(|| panic!("no rule {rule}")).clone();
    let district = match &r.jurisdiction {
        Jurisdiction::District(code) => code.clone(),
        Jurisdiction::City => district("120111"),
    };
    let facts = Facts { person: Some(person()), ..Facts::default() };
    Case {
        clause,
        facts,
        request: GrantRequest::new(rule, district, d(on), r.payee),
        expect: None,
        expect_amount: None,
    }
}

impl Case {
    fn p(&mut self) -> &mut PersonFacts {
        self.facts.person.as_mut().expect("person facts")
    }
    fn e(&mut self) -> &mut EnterpriseFacts {
        self.facts.enterprise.get_or_insert_with(EnterpriseFacts::default)
    }
    pub fn no_person(mut self) -> Self {
        self.facts.person = None;
        self
    }
    pub fn born(mut self, birth: &str, gender: Gender) -> Self {
        self.p().birth_date = d(birth);
        self.p().gender = gender;
        self
    }
    pub fn post(mut self, post: PostType) -> Self {
        self.p().post_type = Some(post);
        self
    }
    pub fn hukou(mut self, county: &str) -> Self {
        self.p().hukou = Some(CountyCode::parse(county).unwrap());
        self
    }
    pub fn groups(mut self, g: &[PersonGroup]) -> Self {
        self.p().groups.extend(g.iter().copied());
        self
    }
    /// A difficulty recognition made on `recognised`, valid from then on
    /// (to 9999-12-31).
    pub fn difficulty(self, cats: &[DifficultyCategory], recognised: &str) -> Self {
        self.difficulty_valid(cats, recognised, "9999-12-31")
    }
    /// A difficulty recognition made on `recognised`, valid to `valid_to`
    /// included. Several may be recorded.
    pub fn difficulty_valid(mut self, cats: &[DifficultyCategory], recognised: &str, valid_to: &str) -> Self {
        self.p().difficulties.push(DifficultyFacts {
            categories: cats.iter().copied().collect(),
            recognised_on: d(recognised),
            valid: DateRange::new(d(recognised), d(valid_to)).unwrap(),
        });
        self
    }
    pub fn graduated(mut self, on: &str, tianjin: bool) -> Self {
        self.p().graduation = Some(GraduationFacts { graduated_on: d(on), tianjin_graduate: tianjin });
        self
    }
    /// An unemployment registration; several may be recorded, oldest first.
    pub fn spell(mut self, registered: &str, ended: Option<&str>) -> Self {
        self.p().spells.push(SpellFacts { registered_on: d(registered), ended_on: ended.map(d) });
        self
    }
    pub fn placed(mut self, kind: PlacementKind, started: &str, contract: Option<u32>) -> Self {
        self.p().placement =
            Some(PlacementFacts { kind, started_on: d(started), contract_months: contract, ended_on: None });
        self
    }
    pub fn placement_ended(mut self, on: &str) -> Self {
        self.p().placement.as_mut().unwrap().ended_on = Some(d(on));
        self
    }
    pub fn insured(mut self, months: u32) -> Self {
        self.p().insured_months = Some(months);
        self
    }
    pub fn trained(mut self, programme: TrainingProgramme, completed: &str, certificate: bool) -> Self {
        self.p().trainings.push(TrainingFacts { programme, completed_on: d(completed), certificate });
        self
    }
    pub fn business(mut self, registered: &str, employees: u32) -> Self {
        self.p().business = Some(BusinessFacts { registered_on: d(registered), employees, district: None });
        self
    }
    /// The business's district (在本区创业); needs `business` first.
    pub fn business_in(mut self, district_code: &str) -> Self {
        self.p().business.as_mut().expect("business first").district = Some(district(district_code));
        self
    }
    pub fn welfare_placements(mut self, n: u32) -> Self {
        self.p().public_welfare_placements = n;
        self
    }
    pub fn enterprise(mut self, kinds: &[EnterpriseKind], district_code: &str) -> Self {
        self.e().kinds = kinds.iter().copied().collect();
        self.e().district = Some(district(district_code));
        self
    }
    pub fn staff(mut self, insured_employees: u32, insured_months: u32, layoffs: u32) -> Self {
        let e = self.e();
        e.insured_employees = insured_employees;
        e.insured_months = insured_months;
        e.layoffs = layoffs;
        self
    }
    pub fn hires(mut self, all: u32, local: u32) -> Self {
        self.e().new_hires = all;
        self.e().new_hires_local_hukou = local;
        self
    }
    pub fn attest(mut self, a: &[Attestation]) -> Self {
        self.facts.attested.extend(a.iter().copied());
        self
    }
    pub fn prior(mut self, programme: &str, from: &str, to: &str) -> Self {
        self.facts.prior_grants.push(PriorGrant {
            programme: programme.to_string(),
            rule_id: None,
            amount: Some(fen(100)),
            period: DateRange::new(d(from), d(to)).unwrap(),
            granted_on: d(from),
        });
        self
    }
    pub fn period(mut self, from: &str, to: &str) -> Self {
        self.request.period = Some(DateRange::new(d(from), d(to)).unwrap());
        self
    }
    pub fn amount(mut self, v: i64) -> Self {
        self.request.amount = Some(fen(v));
        self
    }
    pub fn base(mut self, v: i64) -> Self {
        self.request.base = Some(fen(v));
        self
    }
    pub fn units(mut self, n: u32) -> Self {
        self.request.units = Some(n);
        self
    }
    pub fn loan(mut self, principal: i64, months: u32, contract: &str) -> Self {
        self.request.loan = Some(LoanFacts { principal: fen(principal), months, contract_date: d(contract) });
        self
    }
    pub fn in_district(mut self, code: &str) -> Self {
        self.request.district = district(code);
        self
    }
    pub fn granted(mut self) -> Self {
        self.expect = None;
        self
    }
    pub fn granted_amount(mut self, v: i64) -> Self {
        self.expect = None;
        self.expect_amount = Some(v);
        self
    }
    pub fn refused(mut self, check: &'static str) -> Self {
        self.expect = Some(check);
        self
    }

    pub fn decide(&self) -> Decision {
        leye_policy::default_catalogue().evaluate(&self.request, &self.facts)
    }
}

/// Runs every case; returns the failures, each with the decision's explanation.
pub fn run(cases: &[Case]) -> Vec<String> {
    let cat = leye_policy::default_catalogue();
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let decision = c.decide();
        let label = format!("row {i} ({} {} on {})", c.clause, c.request.rule_id, c.request.on);
        // the row's clause is the rule's
        if let Some(r) = cat.versions(&c.request.rule_id).first()
            && !r.source.contains(c.clause)
        {
            failures.push(format!("{label}: rule cites {:?}, row names {:?}", r.source, c.clause));
        }
        match c.expect {
            None if !decision.is_granted() => failures.push(format!("{label}: expected granted\n{decision}")),
            None => {
                if let Some(a) = c.expect_amount {
                    let got = match &decision.outcome {
                        leye_policy::Outcome::Granted { amount, .. } => amount.map(|f| f.get()),
                        leye_policy::Outcome::Refused => None,
                    };
                    if got != Some(a) {
                        failures.push(format!("{label}: expected amount {a}, got {got:?}\n{decision}"));
                    }
                }
            }
            Some(check) => {
                if decision.is_granted() {
                    failures.push(format!("{label}: expected refused on {check}\n{decision}"));
                } else if !decision
                    .failed()
                    .any(|f| f.check == check && (f.clause.contains(c.clause) || check == "in_force"))
                {
                    failures.push(format!("{label}: expected a failed {check} citing {}\n{decision}", c.clause));
                }
            }
        }
    }
    failures
}
