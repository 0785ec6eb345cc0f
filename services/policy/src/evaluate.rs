//! Grant evaluation: a pure function of the catalogue, the request and the facts.
//!
//! # How a decision is reached
//! 1. The rule the grant names is looked up: it must belong to the city or to
//!    the granting district (and, for a city rule, not be replaced there by
//!    the district's own rule), and one of its versions must be in force on
//!    the date of the fact the programme rewards (`in_force_by`: the hire,
//!    the training, the business registration, the loan contract, the
//!    unemployment registration's last day within the version; else the
//!    grant's date). The person's standing (registered unemployed, difficulty,
//!    age, 应届) is judged on that date too. A refusal here still names the version nearest that date
//!    and cites its clause; [`Decision::not_applicable`] says why.
//! 2. The payee kind must be the rule's.
//! 3. Eligibility: every condition of `[rule.eligible]`; of `any_of`, one
//!    alternative.
//! 4. Limits: one-time, number of grants, exclusions, public-welfare placements
//!    in total, and for periodic subsidies the months of this grant and of all
//!    grants of the programme — lifted up to the retirement month when the
//!    person is within the rule's years of retirement at the start of the
//!    period, and never past the retirement month; periods must not overlap
//!    earlier ones.
//! 5. Amount: the rule's cap for this request. **A proposal over the cap is
//!    refused, not cut down** (an auditor sees exactly what was proposed and
//!    why it was refused); [`Decision::max_amount`] tells the caller what may
//!    be proposed instead.
//!
//! Every step adds [`Check`]s, passed or not, each citing the rule's clause:
//! the decision explains itself. A refused decision grants nothing.

use std::fmt;

use chrono::Datelike;
use leye_domain::{
    Date,
    person::PlacementKind,
    values::{DateRange, DistrictCode, Fen, Gender},
};

use crate::{
    catalogue::{Catalogue, NotApplicable},
    dates::{add_months, full_months_between, month_end, month_starts, whole_months},
    facts::{Facts, GrantRequest, PersonFacts, PlacementFacts, TrainingFacts},
    model::{
        AmountRule, Conditions, DifficultyRequirement, InForceBy, Jurisdiction, Nature, PayeeKind, PostType, Rule,
        Share,
    },
    retirement::{age_in_years, month_of, within_years_of_retirement},
};

/// One step of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked: a condition or limit key (`min_contract_months`,
    /// `one_time`, `amount`, …).
    pub check: String,
    pub passed: bool,
    /// What was found, with the seed's wording where the catalogue gives it.
    pub detail: String,
    /// The source clause, e.g. `"002 #38"`.
    pub clause: String,
}

/// The rule version a decision applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    pub id: String,
    pub programme: String,
    pub title: String,
    pub jurisdiction: Jurisdiction,
    pub valid_from: Date,
    pub valid_to: Option<Date>,
    pub source: String,
    pub payee: PayeeKind,
    pub nature: Nature,
}

impl RuleRef {
    fn of(r: &Rule) -> Self {
        Self {
            id: r.id.clone(),
            programme: r.programme.clone(),
            title: r.title.clone(),
            jurisdiction: r.jurisdiction.clone(),
            valid_from: r.valid_from,
            valid_to: r.valid_to,
            source: r.source.clone(),
            payee: r.payee,
            nature: r.nature,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Granted: the amount (none for an entitlement) and the period (the date
    /// itself for one-time grants; to retirement for an entitlement).
    Granted { amount: Option<Fen>, period: DateRange },
    /// Refused: the failed checks say why.
    Refused,
}

/// A decision on a grant, with its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The rule id asked for.
    pub rule_id: String,
    /// The version applied; `None` when no version applies.
    pub rule: Option<RuleRef>,
    pub outcome: Outcome,
    /// The most this request may be granted, when it could be computed.
    pub max_amount: Option<Fen>,
    pub checks: Vec<Check>,
    /// Why no version of the rule could be applied, when that is the refusal:
    /// an unknown id or a rule of another district (errors in the request),
    /// or no version in force on the deciding date (a refusal citing the
    /// clause of the nearest version).
    pub not_applicable: Option<NotApplicable>,
}

impl Decision {
    pub fn is_granted(&self) -> bool {
        matches!(self.outcome, Outcome::Granted { .. })
    }

    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// The explanation, one check a line.
    pub fn explain(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Granted { amount: Some(a), period } => {
                writeln!(f, "{}: granted {} fen for {}..{}", self.rule_id, a.get(), period.from, period.to)?
            }
            Outcome::Granted { amount: None, period } => {
                writeln!(f, "{}: granted for {}..{}", self.rule_id, period.from, period.to)?
            }
            Outcome::Refused => writeln!(f, "{}: refused", self.rule_id)?,
        }
        for c in &self.checks {
            writeln!(f, "  [{}] {} ({}): {}", if c.passed { "ok" } else { "NO" }, c.check, c.clause, c.detail)?;
        }
        Ok(())
    }
}

/// A programme someone is eligible for and has not received (政策找人).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    pub rule: RuleRef,
    /// The checks that make the person eligible, each citing its clause.
    pub reasons: Vec<Check>,
    /// The amount when it does not depend on the request (fixed amounts).
    pub amount: Option<Fen>,
}

impl Catalogue {
    /// Decides a grant. Pure: reads only its arguments.
    ///
    /// The version applied is the one in force on the date of the fact the
    /// programme rewards (`in_force_by`: the hire, the training, the business
    /// registration, the loan contract, the unemployment registration), or on
    /// the grant's date.
    pub fn evaluate(&self, request: &GrantRequest, facts: &Facts) -> Decision {
        let facts = &self.current_programmes(facts);
        let versions = match self.applicable_versions(&request.rule_id, &request.district) {
            Ok(v) => v,
            Err(why) => return self.not_applicable(request, why),
        };
        // Versions share `in_force_by` (checked at load).
        let by = versions[0].in_force_by;
        // Without the fact, the grant's date decides; the conditions that
        // need the fact then fail on their own, each citing its clause.
        let (fact_on, missing) = match deciding_date(by, &versions[0].eligible, &versions, request, facts) {
            Ok(d) => (d, None),
            Err(missing) => (request.on, Some(missing)),
        };
        if let Some(by) = self.replaced_by(&request.rule_id, &request.district, fact_on) {
            let v = nearest(&versions, fact_on);
            let detail = format!(
                "in district {} the municipal programme is granted under the district's rule {} ({}) on {fact_on}",
                request.district.as_str(),
                by.id,
                by.source
            );
            return refused_before_eligibility(request, v, detail, Some(NotApplicable::ReplacedBy(by.id.clone())));
        }
        let Some(rule) = versions.iter().find(|r| r.in_force_on(fact_on)).copied() else {
            let v = nearest(&versions, fact_on);
            let periods: Vec<String> = versions.iter().map(|r| period_text(r.valid_from, r.valid_to)).collect();
            let on = match by {
                InForceBy::GrantDate => format!("on {fact_on}"),
                _ => format!("on {fact_on}, {}", by.describe()),
            };
            let mut detail = format!("no version in force {on}; versions: {}", periods.join(", "));
            if let Some(w) = v.wording.get("valid_to").or_else(|| v.wording.get("valid_from")) {
                detail = format!("{detail} — 「{w}」");
            }
            let why = NotApplicable::NotInForce(versions.iter().map(|r| (r.valid_from, r.valid_to)).collect());
            return refused_before_eligibility(request, v, detail, Some(why));
        };
        let mut ev = Eval::new(self, rule, facts, request.on, &request.district);
        ev.fact_on = fact_on;
        ev.fact_missing = missing;
        ev.units = request.units;
        ev.in_force();
        ev.check(
            "payee",
            request.payee == rule.payee,
            format!("rule pays the {}; request names the {}", rule.payee.as_str(), request.payee.as_str()),
        );
        ev.subject();
        ev.conditions_top(&rule.eligible);
        ev.history_limits();
        let period = ev.period(request);
        let cap = ev.amount(request, period.as_ref());
        let ok = ev.checks.iter().all(|c| c.passed);
        let outcome = match (ok, period) {
            (true, Some(p)) => {
                Outcome::Granted { amount: request.amount.or(cap.and_then(|c| Fen::positive(c).ok())), period: p }
            }
            _ => Outcome::Refused,
        };
        Decision {
            rule_id: request.rule_id.clone(),
            rule: Some(RuleRef::of(rule)),
            outcome,
            max_amount: cap.and_then(|c| Fen::positive(c).ok()),
            checks: ev.checks,
            not_applicable: None,
        }
    }

    /// The facts with prior grants recorded under a former programme code
    /// counted as the programme's now (`formerly`).
    fn current_programmes<'f>(&self, facts: &'f Facts) -> std::borrow::Cow<'f, Facts> {
        if facts.prior_grants.iter().all(|g| self.current_programme(&g.programme) == g.programme) {
            return std::borrow::Cow::Borrowed(facts);
        }
        let mut owned = facts.clone();
        for g in &mut owned.prior_grants {
            g.programme = self.current_programme(&g.programme).to_string();
        }
        std::borrow::Cow::Owned(owned)
    }

    /// A refusal for a rule that does not apply to the request at all. An
    /// unknown id cites no clause (there is none); a rule of another district
    /// cites the clause of its version nearest the date.
    fn not_applicable(&self, request: &GrantRequest, why: NotApplicable) -> Decision {
        match &why {
            NotApplicable::OtherJurisdiction(j) => {
                let versions = self.versions(&request.rule_id);
                let detail =
                    format!("the rule belongs to {j}; it does not apply in district {}", request.district.as_str());
                refused_before_eligibility(request, nearest(&versions, request.on), detail, Some(why))
            }
            NotApplicable::UnknownRule | NotApplicable::NotInForce(_) | NotApplicable::ReplacedBy(_) => Decision {
                rule_id: request.rule_id.clone(),
                rule: None,
                outcome: Outcome::Refused,
                max_amount: None,
                checks: vec![Check {
                    check: "in_force".into(),
                    passed: false,
                    detail: "no rule with this id in the catalogue".into(),
                    clause: "catalogue".into(),
                }],
                not_applicable: Some(why),
            },
        }
    }

    /// Policy finds people (政策找人): the rules of `district` whose
    /// eligibility and limits the facts meet on `on`, and whose programme the
    /// case has not received yet, with the reasons and clauses.
    ///
    /// As in [`Catalogue::evaluate`], the version that counts is the one in
    /// force on the date of the fact the programme rewards (the hire, the
    /// training, the registration, …), else on `on`: a programme that has
    /// ended is still found for a fact that fell inside it (a 2020 hire found
    /// in January 2021), and a district rule replaces a city rule when it does
    /// on that same date.
    ///
    /// Amount checks that need a request (periods, units, bases) are not run:
    /// this lists who should be told, not what they will get.
    pub fn find_eligible(&self, facts: &Facts, district: &DistrictCode, on: Date) -> Vec<Eligibility> {
        let facts = &self.current_programmes(facts);
        let mut out = Vec::new();
        for rule in self.rules().iter().filter(|r| r.jurisdiction.covers(district) && r.valid_from <= on) {
            if facts.prior_grants.iter().any(|g| g.programme == rule.programme) {
                continue;
            }
            // As in `evaluate`: the fact the programme rewards dates it, and the
            // person's standing is judged then; a fact outside this version's
            // period is not this version's (a request would be decided under
            // another one, or refused).
            let probe = GrantRequest::new(rule.id.clone(), district.clone(), on, rule.payee);
            let fact = deciding_date(rule.in_force_by, &rule.eligible, &[rule], &probe, facts);
            let deciding = *fact.as_ref().unwrap_or(&on);
            if !rule.in_force_on(deciding) || self.replaced_by(&rule.id, district, deciding).is_some() {
                continue;
            }
            let mut ev = Eval::new(self, rule, facts, on, district);
            ev.fact_on = deciding;
            ev.fact_missing = fact.err();
            ev.in_force();
            ev.subject();
            ev.conditions_top(&rule.eligible);
            ev.history_limits();
            if ev.checks.iter().all(|c| c.passed) {
                let amount = match rule.amount {
                    AmountRule::Fixed { fen } => Fen::positive(fen).ok(),
                    _ => None,
                };
                out.push(Eligibility { rule: RuleRef::of(rule), reasons: ev.checks, amount });
            }
        }
        out
    }
}

/// A refusal decided before eligibility: one failed `in_force` check citing
/// the clause of version `v`, which the decision names (source, validity).
fn refused_before_eligibility(
    request: &GrantRequest,
    v: &Rule,
    detail: String,
    why: Option<NotApplicable>,
) -> Decision {
    Decision {
        rule_id: request.rule_id.clone(),
        rule: Some(RuleRef::of(v)),
        outcome: Outcome::Refused,
        max_amount: None,
        checks: vec![Check { check: "in_force".into(), passed: false, detail, clause: v.source.clone() }],
        not_applicable: why,
    }
}

/// The version nearest `date`: the latest begun by then, else the first.
fn nearest<'r>(versions: &[&'r Rule], date: Date) -> &'r Rule {
    // `versions` is never empty: an unknown id is refused before.
    let found = versions.iter().rev().find(|r| r.valid_from <= date).or(versions.first());
    found.copied().expect("an applicable rule has at least one version")
}

fn period_text(from: Date, to: Option<Date>) -> String {
    format!("{from}..{}", to.map_or("open-ended".to_string(), |t| t.to_string()))
}

/// The date that decides which version is in force, or what is missing to know it.
fn deciding_date(
    by: InForceBy,
    c: &Conditions,
    versions: &[&Rule],
    request: &GrantRequest,
    facts: &Facts,
) -> Result<Date, String> {
    let person = facts.person.as_ref();
    match by {
        InForceBy::GrantDate => Ok(request.on),
        InForceBy::PlacementStart => person
            .and_then(|p| p.placement.as_ref())
            .map(|pl| pl.started_on)
            .ok_or_else(|| "no placement recorded".to_string()),
        InForceBy::TrainingCompletion => person
            .and_then(|p| {
                p.trainings
                    .iter()
                    .filter(|t| t.certificate && t.completed_on <= request.on)
                    .filter(|t| c.training_completed.contains(&t.programme))
                    .map(|t| t.completed_on)
                    .max()
            })
            .ok_or_else(|| format!("no {} completed with a certificate", names(&c.training_completed))),
        InForceBy::BusinessRegistration => person
            .and_then(|p| p.business.as_ref())
            .map(|b| b.registered_on)
            .ok_or_else(|| "no business recorded".to_string()),
        InForceBy::LoanContract => {
            request.loan.as_ref().map(|l| l.contract_date).ok_or_else(|| "the loan is not given".to_string())
        }
        // The last day, up to the grant's date, on which a registration was
        // open within a version's period: registered before the programme
        // began and still registered counts, and so does a registration of the
        // programme's period decided after it ended.
        InForceBy::Registration => {
            let spells = person.map_or(&[][..], |p| p.spells.as_slice());
            spells
                .iter()
                .flat_map(|s| versions.iter().map(move |v| (s, v)))
                .filter_map(|(s, v)| {
                    let last = [s.last_open_day(), v.valid_to, Some(request.on)].into_iter().flatten().min()?;
                    (last >= s.registered_on && last >= v.valid_from).then_some(last)
                })
                .max()
                .ok_or_else(|| "no unemployment registration open within the programme's period".to_string())
        }
    }
}

mod conditions;
mod grant;

// === the evaluator ===

struct Eval<'a> {
    cat: &'a Catalogue,
    rule: &'a Rule,
    facts: &'a Facts,
    on: Date,
    /// The date of the fact the programme rewards (`in_force_by`), at which
    /// the person's standing is judged: 应届, 毕业N年内, 年满N周岁 at the hire.
    /// The grant's date where the rule names no such fact.
    fact_on: Date,
    /// Why the fact's date is not known (then `fact_on` is the grant's date).
    fact_missing: Option<String>,
    district: &'a DistrictCode,
    /// The request's units (batch sizes); none while finding people.
    units: Option<u32>,
    checks: Vec<Check>,
}

/// The result of one condition: passed or not, and what was found.
type Found = (bool, String);

impl<'a> Eval<'a> {
    fn new(cat: &'a Catalogue, rule: &'a Rule, facts: &'a Facts, on: Date, district: &'a DistrictCode) -> Self {
        Self { cat, rule, facts, on, fact_on: on, fact_missing: None, district, units: None, checks: Vec::new() }
    }

    fn make(&self, name: &str, key: &str, passed: bool, detail: String) -> Check {
        let detail = match self.rule.wording.get(key) {
            Some(w) => format!("{detail} — 「{w}」"),
            None => detail,
        };
        Check { check: name.to_string(), passed, detail, clause: self.rule.source.clone() }
    }

    fn check(&mut self, key: &str, passed: bool, detail: String) {
        let c = self.make(key, key, passed, detail);
        self.checks.push(c);
    }

    fn in_force(&mut self) {
        let r = self.rule;
        let to = r.valid_to.map_or("open-ended".to_string(), |t| t.to_string());
        let when = match (r.in_force_by, &self.fact_missing) {
            (InForceBy::GrantDate, _) => self.on.to_string(),
            (by, Some(missing)) => format!("{} ({missing}, so the grant's date stands for {})", self.on, by.describe()),
            (by, None) => format!("{} ({}; decided {})", self.fact_on, by.describe(), self.on),
        };
        let detail = format!(
            "version {}..{} of {} covers {when} in district {}",
            r.valid_from,
            to,
            r.jurisdiction,
            self.district.as_str()
        );
        self.check("in_force", true, detail);
        if r.verify {
            let note = r.note.clone().unwrap_or_default();
            self.check("verify", true, format!("to be confirmed by the bureau: {note}"));
        }
    }

    fn subject(&mut self) {
        let (ok, what) = match self.rule.subject {
            crate::model::Subject::Person => (self.facts.person.is_some(), "person"),
            crate::model::Subject::Enterprise => (self.facts.enterprise.is_some(), "enterprise"),
        };
        let detail = if ok { format!("{what} facts supplied") } else { format!("{what} facts not supplied") };
        self.check("subject", ok, detail);
    }

    // --- eligibility ---

    fn conditions_top(&mut self, c: &Conditions) {
        let mut out = Vec::new();
        self.conditions(c, "", &mut out);
        self.checks.extend(out);
    }
}

/// The months a granted period covers: whole calendar months, else full months.
fn grant_months(period: DateRange) -> u32 {
    whole_months(period.from, period.to)
        .unwrap_or_else(|| full_months_between(period.from, period.to.succ_opt().unwrap_or(period.to)))
}

/// Placements held under a labour contract (劳动合同), where no recorded term
/// means no fixed term (无固定期限), not no contract.
fn labour_contract(kind: PlacementKind) -> bool {
    matches!(kind, PlacementKind::Enterprise | PlacementKind::PublicWelfarePost | PlacementKind::CommunityServicePost)
}

fn yuan(fen: i64) -> String {
    if fen % 100 == 0 { format!("{} yuan", fen / 100) } else { format!("{}.{:02} yuan", fen / 100, fen % 100) }
}

fn name<T: fmt::Debug>(v: &T) -> String {
    // snake_case of the Debug name: the catalogue spelling
    let s = format!("{v:?}");
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

fn names<'x, T: fmt::Debug + 'x>(v: impl IntoIterator<Item = &'x T>) -> String {
    let n: Vec<String> = v.into_iter().map(name).collect();
    format!("[{}]", n.join(", "))
}
