//! A rule's eligibility conditions: each condition it sets becomes a check
//! saying what was found, grouped by whose facts it reads.

use super::*;

/// The checks of one conditions block, in the order the block lists them.
type Results = Vec<(&'static str, Found)>;

impl Eval<'_> {
    /// Evaluates `c`, appending its checks (names prefixed with `prefix`);
    /// returns whether all held.
    pub(super) fn conditions(&self, c: &Conditions, prefix: &str, out: &mut Vec<Check>) -> bool {
        let mut results = Results::new();
        self.person_standing(c, &mut results);
        self.person_work(c, &mut results);
        self.person_training_business(c, &mut results);
        self.common_conditions(c, &mut results);
        self.enterprise_conditions(c, &mut results);

        let mut all = true;
        for (key, (passed, detail)) in results {
            all &= passed;
            out.push(self.make(&format!("{prefix}{key}"), key, passed, detail));
        }
        if !c.any_of.is_empty() {
            let mut alts = Vec::new();
            let mut winner = None;
            for (i, alt) in c.any_of.iter().enumerate() {
                let mut checks = Vec::new();
                let ok = self.conditions(alt, &format!("{prefix}any_of[{i}]."), &mut checks);
                if ok && winner.is_none() {
                    winner = Some(i);
                }
                alts.push(checks);
            }
            match winner {
                Some(i) => {
                    out.push(self.make(
                        &format!("{prefix}any_of"),
                        "any_of",
                        true,
                        format!("alternative {} of {} holds", i + 1, alts.len()),
                    ));
                    out.extend(alts.swap_remove(i));
                }
                None => {
                    all = false;
                    out.push(self.make(
                        &format!("{prefix}any_of"),
                        "any_of",
                        false,
                        format!("none of {} alternatives holds", alts.len()),
                    ));
                    out.extend(alts.into_iter().flatten().filter(|c| !c.passed));
                }
            }
        }
        all
    }

    /// Conditions on the person's standing: groups, difficulty, age, hukou,
    /// schooling.
    fn person_standing(&self, c: &Conditions, results: &mut Results) {
        let p = self.facts.person.as_ref();
        let no_person = || (false, "person facts not supplied".to_string());

        if !c.groups_any.is_empty() {
            results.push((
                "groups_any",
                p.map_or_else(no_person, |p| {
                    let hit: Vec<String> = c.groups_any.iter().filter(|g| p.groups.contains(g)).map(name).collect();
                    if hit.is_empty() {
                        (false, format!("in none of {}", names(&c.groups_any)))
                    } else {
                        (true, format!("in {}", hit.join(", ")))
                    }
                }),
            ));
        }
        if !c.groups_all.is_empty() {
            results.push((
                "groups_all",
                p.map_or_else(no_person, |p| {
                    let missing: Vec<String> =
                        c.groups_all.iter().filter(|g| !p.groups.contains(g)).map(name).collect();
                    if missing.is_empty() {
                        (true, format!("in all of {}", names(&c.groups_all)))
                    } else {
                        (false, format!("not in {}", missing.join(", ")))
                    }
                }),
            ));
        }
        // The recognition valid on the deciding date: at the hire or the
        // business for the rules that reward one, on the grant's date for
        // status subsidies (flexible work, 001 § 3).
        let at = self.fact_on;
        if let Some(req) = c.difficulty {
            results.push((
                "difficulty",
                p.map_or_else(no_person, |p| match (p.difficulty_on(at), req) {
                    (None, _) => {
                        (false, format!("no employment difficulty recognised as valid on {at}{}", self.judged_at()))
                    }
                    (Some(d), DifficultyRequirement::Any) => (
                        true,
                        format!(
                            "difficulty recognised {} ({}), valid {}..{}: valid on {at}{}",
                            d.recognised_on,
                            names(&d.categories),
                            d.valid.from,
                            d.valid.to,
                            self.judged_at()
                        ),
                    ),
                    (Some(d), DifficultyRequirement::Special) => (
                        d.special(),
                        format!(
                            "categories {}: {}; recognised {}, valid {}..{}: valid on {at}{}",
                            names(&d.categories),
                            if d.special() {
                                "special (特殊就业困难人员)"
                            } else {
                                "none special (特殊就业困难人员 needed)"
                            },
                            d.recognised_on,
                            d.valid.from,
                            d.valid.to,
                            self.judged_at()
                        ),
                    ),
                    (Some(d), DifficultyRequirement::NotSpecial) => (
                        !d.special(),
                        format!(
                            "categories {}: {}; recognised {}, valid {}..{}: valid on {at}{}",
                            names(&d.categories),
                            if d.special() {
                                "special: the special-difficulty rule applies instead"
                            } else {
                                "other difficulty (其他就业困难人员)"
                            },
                            d.recognised_on,
                            d.valid.from,
                            d.valid.to,
                            self.judged_at()
                        ),
                    ),
                }),
            ));
        }
        if !c.difficulty_categories_any.is_empty() {
            results.push((
                "difficulty_categories_any",
                p.map_or_else(no_person, |p| match p.difficulty_on(at) {
                    Some(d) if c.difficulty_categories_any.iter().any(|x| d.categories.contains(x)) => (
                        true,
                        format!("categories {}, recognition valid on {at}{}", names(&d.categories), self.judged_at()),
                    ),
                    Some(d) => (
                        false,
                        format!("categories {}, none of {}", names(&d.categories), names(&c.difficulty_categories_any)),
                    ),
                    None => (false, format!("no difficulty valid on {at}{}", self.judged_at())),
                }),
            ));
        }
        if let Some(a) = c.min_age {
            results.push((
                "min_age",
                p.map_or_else(no_person, |p| {
                    let at = self.fact_on;
                    let age = age_in_years(p.birth_date, at);
                    let (need, sex) = match p.gender {
                        Gender::Female => (a.female, "woman"),
                        Gender::Male => (a.male, "man"),
                    };
                    (age >= need, format!("{sex} aged {age} on {at}; needs {need} or more (年满, inclusive)"))
                }),
            ));
        }
        if let Some(d) = &c.hukou_district {
            results.push((
                "hukou_district",
                p.map_or_else(no_person, |p| match &p.hukou {
                    Some(h) => (h.as_str() == d.as_str(), format!("hukou county {}; needs {}", h.as_str(), d.as_str())),
                    None => (false, "hukou not supplied".into()),
                }),
            ));
        }
        if c.hukou_tianjin {
            results.push((
                "hukou_tianjin",
                p.map_or_else(no_person, |p| match &p.hukou {
                    Some(h) => (
                        h.is_tianjin(),
                        format!(
                            "hukou county {}: {}",
                            h.as_str(),
                            if h.is_tianjin() { "Tianjin" } else { "not Tianjin" }
                        ),
                    ),
                    None => (false, "hukou not supplied".into()),
                }),
            ));
        }
        if c.tianjin_graduate {
            results.push((
                "tianjin_graduate",
                p.map_or_else(no_person, |p| match &p.graduation {
                    Some(g) => (
                        g.tianjin_graduate,
                        if g.tianjin_graduate {
                            "Tianjin graduate (本市生源或本市院校)".into()
                        } else {
                            "not a Tianjin graduate".into()
                        },
                    ),
                    None => (false, "no graduation recorded".into()),
                }),
            ));
        }
        if let Some(n) = c.max_months_since_graduation {
            results.push((
                "max_months_since_graduation",
                p.map_or_else(no_person, |p| match &p.graduation {
                    Some(g) => {
                        let at = self.fact_on;
                        let limit = add_months(g.graduated_on, n);
                        (
                            g.graduated_on <= at && at <= limit,
                            format!(
                                "graduated {}; within {n} months means on or before {limit}; judged on {at}",
                                g.graduated_on
                            ),
                        )
                    }
                    None => (false, "no graduation recorded".into()),
                }),
            ));
        }
        if c.graduated_this_year {
            results.push((
                "graduated_this_year",
                p.map_or_else(no_person, |p| match &p.graduation {
                    Some(g) => (
                        g.graduated_on.year() == self.fact_on.year(),
                        format!(
                            "graduated in {}; judged on {}, in {} (应届)",
                            g.graduated_on.year(),
                            self.fact_on,
                            self.fact_on.year()
                        ),
                    ),
                    None => (false, "no graduation recorded".into()),
                }),
            ));
        }
    }

    /// Conditions on the person's registration, work, insurance and retirement.
    fn person_work(&self, c: &Conditions, results: &mut Results) {
        let p = self.facts.person.as_ref();
        let on = self.on;
        let no_person = || (false, "person facts not supplied".to_string());

        if c.registered_unemployed {
            // Open on the deciding date: at the training, the hire or the
            // registration the rule rewards; else on the grant's date.
            let at = self.fact_on;
            results.push((
                "registered_unemployed",
                p.map_or_else(no_person, |p| match p.spell_by(at) {
                    Some(s) if s.open_on(at) => (
                        true,
                        format!("registered unemployed since {}: open on {at}{}", s.registered_on, self.judged_at()),
                    ),
                    Some(s) => (
                        false,
                        format!(
                            "registration of {} ended {}: not open on {at}{}",
                            s.registered_on,
                            s.ended_on.map_or(String::new(), |d| d.to_string()),
                            self.judged_at()
                        ),
                    ),
                    None => (false, format!("not registered unemployed by {at}{}", self.judged_at())),
                }),
            ));
        }
        if let Some(n) = c.min_months_registered_unemployed {
            results.push((
                "min_months_registered_unemployed",
                p.map_or_else(no_person, |p| match p.spell_by(self.fact_on) {
                    Some(s) => {
                        let end = s.ended_on.unwrap_or(on);
                        let m = full_months_between(s.registered_on, end);
                        (m >= n, format!("registered {} to {end}: {m} full months; needs {n} or more", s.registered_on))
                    }
                    None => (false, "never registered unemployed".into()),
                }),
            ));
        }
        if !c.placement_kinds.is_empty() {
            results.push((
                "placement_kinds",
                p.map_or_else(no_person, |p| match &p.placement {
                    Some(pl) => (
                        c.placement_kinds.contains(&pl.kind),
                        format!("placement {}; needs one of {}", name(&pl.kind), names(&c.placement_kinds)),
                    ),
                    None => (false, "no placement".into()),
                }),
            ));
        }
        if let Some(n) = c.min_contract_months {
            results.push((
                "min_contract_months",
                p.map_or_else(no_person, |p| match p.placement.as_ref() {
                    Some(PlacementFacts { contract_months: Some(m), .. }) => {
                        (*m >= n, format!("contract of {m} months; needs {n} or more"))
                    }
                    // A placement with an employer and no term recorded holds a
                    // labour contract without a fixed term, the longest there is.
                    Some(pl) if labour_contract(pl.kind) => (
                        true,
                        format!(
                            "open-ended labour contract (无固定期限劳动合同): meets a contract of {n} months or more"
                        ),
                    ),
                    Some(pl) => (
                        false,
                        format!(
                            "placement {} has no labour contract; needs a contract of {n} months or more",
                            name(&pl.kind)
                        ),
                    ),
                    None => (false, "no placement".into()),
                }),
            ));
        }
        if let Some(n) = c.min_months_employed {
            results.push((
                "min_months_employed",
                p.map_or_else(no_person, |p| match &p.placement {
                    Some(pl) => {
                        let end = pl.ended_on.unwrap_or(on);
                        let m = full_months_between(pl.started_on, end);
                        (m >= n, format!("employed {} to {end}: {m} full months; needs {n} or more", pl.started_on))
                    }
                    None => (false, "no placement".into()),
                }),
            ));
        }
        if c.still_employed {
            results.push((
                "still_employed",
                p.map_or_else(no_person, |p| match &p.placement {
                    Some(pl) if pl.ended_on.is_none() => (true, format!("still in the placement on {on}")),
                    Some(pl) => {
                        (false, format!("placement ended {}", pl.ended_on.map_or(String::new(), |d| d.to_string())))
                    }
                    None => (false, "no placement".into()),
                }),
            ));
        }
        if let Some(n) = c.min_insured_months {
            results.push((
                "min_insured_months",
                p.map_or_else(no_person, |p| match p.insured_months {
                    Some(m) => (m >= n, format!("{m} months of social insurance paid; needs {n} or more")),
                    None => (false, "months of social insurance not supplied".into()),
                }),
            ));
        }
        if let Some(n) = c.within_years_of_retirement {
            let found = p.map_or_else(no_person, |p| {
                match self.retirement_for(p, |r| within_years_of_retirement(r, n, on)) {
                    Ok((r, age)) => {
                        let after = crate::dates::sub_months(r, n * 12);
                        let detail = format!(
                            "statutory retirement age {age}, reached {}; less than {n} years to go on {on} means after {after}",
                            month_of(r)
                        );
                        (within_years_of_retirement(r, n, on), detail)
                    }
                    Err(why) => (false, why),
                }
            });
            results.push(("within_years_of_retirement", found));
        }
        if c.first_public_welfare_placement {
            results.push((
                "first_public_welfare_placement",
                p.map_or_else(no_person, |p| {
                    (
                        p.public_welfare_placements <= 1,
                        format!("public-welfare placements so far, this one included: {}", p.public_welfare_placements),
                    )
                }),
            ));
        }
        if c.prior_placement_subsidy_expired {
            results.push((
                "prior_placement_subsidy_expired",
                p.map_or_else(no_person, |p| self.prior_placement_subsidy_expired(p)),
            ));
        }
    }

    /// Conditions on the person's training and business.
    fn person_training_business(&self, c: &Conditions, results: &mut Results) {
        let p = self.facts.person.as_ref();
        let on = self.on;
        let no_person = || (false, "person facts not supplied".to_string());

        if !c.training_completed.is_empty() {
            results.push((
                "training_completed",
                p.map_or_else(no_person, |p| match self.training(p, c) {
                    Some(t) => {
                        (true, format!("{} completed {} with a certificate", name(&t.programme), t.completed_on))
                    }
                    None => {
                        (false, format!("no {} completed with a certificate by {on}", names(&c.training_completed)))
                    }
                }),
            ));
        }
        if let Some(n) = c.max_months_training_to_business {
            results.push((
                "max_months_training_to_business",
                p.map_or_else(no_person, |p| match (self.training(p, c), &p.business) {
                    (Some(t), Some(b)) => {
                        let limit = add_months(t.completed_on, n);
                        (
                            t.completed_on <= b.registered_on && b.registered_on <= limit,
                            format!(
                                "training completed {}, business registered {}; needs registration by {limit}",
                                t.completed_on, b.registered_on
                            ),
                        )
                    }
                    (None, _) => (false, "no qualifying training".into()),
                    (_, None) => (false, "no business recorded".into()),
                }),
            ));
        }
        if let Some(n) = c.max_months_since_training {
            results.push((
                "max_months_since_training",
                p.map_or_else(no_person, |p| match self.training(p, c) {
                    Some(t) => {
                        let limit = add_months(t.completed_on, n);
                        (
                            on <= limit,
                            format!("training completed {}; within {n} months means by {limit}", t.completed_on),
                        )
                    }
                    None => (false, "no qualifying training".into()),
                }),
            ));
        }
        if let Some(n) = c.min_business_operating_months {
            results.push((
                "min_business_operating_months",
                p.map_or_else(no_person, |p| match &p.business {
                    Some(b) => {
                        let m = full_months_between(b.registered_on, on);
                        (
                            m >= n,
                            format!(
                                "business registered {}: {m} full months by {on}; needs {n} or more",
                                b.registered_on
                            ),
                        )
                    }
                    None => (false, "no business recorded".into()),
                }),
            ));
        }
        if let Some(n) = c.max_months_since_business_registration {
            results.push((
                "max_months_since_business_registration",
                p.map_or_else(no_person, |p| match &p.business {
                    Some(b) => {
                        let limit = add_months(b.registered_on, n);
                        (
                            b.registered_on <= on && on <= limit,
                            format!("business registered {}; within {n} months means by {limit}", b.registered_on),
                        )
                    }
                    None => (false, "no business recorded".into()),
                }),
            ));
        }
        if let Some(n) = c.min_business_employees {
            results.push((
                "min_business_employees",
                p.map_or_else(no_person, |p| match &p.business {
                    Some(b) => (b.employees >= n, format!("{} employed; needs {n} or more", b.employees)),
                    None => (false, "no business recorded".into()),
                }),
            ));
        }
        if let Some(d) = &c.business_district {
            results.push((
                "business_district",
                p.map_or_else(no_person, |p| match p.business.as_ref().map(|b| b.district.as_ref()) {
                    Some(Some(x)) => {
                        (x == d, format!("business registered in district {}; needs {}", x.as_str(), d.as_str()))
                    }
                    Some(None) => (false, "the business's district not supplied".into()),
                    None => (false, "no business recorded".into()),
                }),
            ));
        }
    }

    /// Conditions on the request itself: attestations and earlier grants.
    fn common_conditions(&self, c: &Conditions, results: &mut Results) {
        if !c.attested.is_empty() {
            let missing: Vec<String> =
                c.attested.iter().filter(|a| !self.facts.attested.contains(a)).map(name).collect();
            results.push((
                "attested",
                if missing.is_empty() {
                    (true, format!("attested: {}", names(&c.attested)))
                } else {
                    (false, format!("not attested: {}", missing.join(", ")))
                },
            ));
        }
        if !c.requires_grant.is_empty() {
            let hit = self.facts.prior_grants.iter().find(|g| c.requires_grant.contains(&g.programme));
            results.push((
                "requires_grant",
                match hit {
                    Some(g) => (true, format!("{} granted {}", g.programme, g.granted_on)),
                    None => (false, format!("needs an earlier grant of {}", c.requires_grant.join(" or "))),
                },
            ));
        }
    }

    /// Conditions on the enterprise's facts (kinds, district, insurance,
    /// layoffs, new hires, units).
    fn enterprise_conditions(&self, c: &Conditions, results: &mut Results) {
        let e = self.facts.enterprise.as_ref();
        let no_ent = || (false, "enterprise facts not supplied".to_string());

        if !c.enterprise_kinds_any.is_empty() {
            results.push((
                "enterprise_kinds_any",
                e.map_or_else(no_ent, |e| {
                    let ok = c.enterprise_kinds_any.iter().any(|k| e.kinds.contains(k));
                    (
                        ok,
                        format!(
                            "enterprise kinds {}; needs one of {}",
                            names(&e.kinds),
                            names(&c.enterprise_kinds_any)
                        ),
                    )
                }),
            ));
        }
        if !c.enterprise_kinds_none.is_empty() {
            results.push((
                "enterprise_kinds_none",
                e.map_or_else(no_ent, |e| {
                    let bad: Vec<String> =
                        c.enterprise_kinds_none.iter().filter(|k| e.kinds.contains(k)).map(name).collect();
                    (
                        bad.is_empty(),
                        if bad.is_empty() {
                            format!("none of {}", names(&c.enterprise_kinds_none))
                        } else {
                            format!("excluded kind {}", bad.join(", "))
                        },
                    )
                }),
            ));
        }
        if let Some(d) = &c.enterprise_district {
            results.push((
                "enterprise_district",
                e.map_or_else(no_ent, |e| match &e.district {
                    Some(x) => (x == d, format!("enterprise registered in {}; needs {}", x.as_str(), d.as_str())),
                    None => (false, "enterprise district not supplied".into()),
                }),
            ));
        }
        if let Some(n) = c.enterprise_min_insured_months {
            results.push((
                "enterprise_min_insured_months",
                e.map_or_else(no_ent, |e| {
                    (
                        e.insured_months >= n,
                        format!("unemployment insurance paid {} months; needs {n} or more", e.insured_months),
                    )
                }),
            ));
        }
        if let Some(l) = &c.layoffs {
            results.push(("layoffs", e.map_or_else(no_ent, |e| self.layoffs(l, e))));
        }
        if let Some(h) = &c.new_hires {
            results.push((
                "new_hires",
                e.map_or_else(no_ent, |e| {
                    let (share, size) = if e.insured_employees >= h.large_from_employees {
                        (
                            h.large_min_share,
                            format!("{} staff, {} or more", e.insured_employees, h.large_from_employees),
                        )
                    } else {
                        (h.min_share, format!("{} staff", e.insured_employees))
                    };
                    let hires = if h.local_hukou_only { e.new_hires_local_hukou } else { e.new_hires };
                    let ok = e.insured_employees > 0
                        && !share.greater_than_ratio(u64::from(hires), u64::from(e.insured_employees));
                    (
                        ok,
                        format!(
                            "{hires} {}new hires for {size}; needs at least {share} (达到, inclusive)",
                            if h.local_hukou_only { "local-hukou " } else { "" }
                        ),
                    )
                }),
            ));
        }
        if let Some(n) = c.min_units {
            results.push((
                "min_units",
                match self.facts_units() {
                    Some(u) => (u >= n, format!("{u} at once; needs {n} or more")),
                    None => (false, "number of people (units) not supplied".into()),
                },
            ));
        }
    }

    /// 补贴期满: the months of this programme granted before the current
    /// placement began reach the programme's full term.
    fn prior_placement_subsidy_expired(&self, p: &PersonFacts) -> Found {
        let Some(pl) = &p.placement else { return (false, "no placement".into()) };
        let term = self.rule.limits.cumulative_months.unwrap_or(0);
        let start = crate::dates::month_start(pl.started_on);
        let before: u32 = self
            .facts
            .prior_grants
            .iter()
            .filter(|g| g.programme == self.rule.programme || self.rule.limits.cumulative_with.contains(&g.programme))
            .filter(|g| g.period.to < start)
            .map(|g| grant_months(g.period))
            .sum();
        (
            term > 0 && before >= term,
            format!(
                "{before} months of {} granted before this placement began {}; the full term is {term} (补贴期满)",
                self.rule.programme, pl.started_on
            ),
        )
    }

    /// How the deciding date was chosen, for a check's detail: empty when it
    /// is the grant's date.
    fn judged_at(&self) -> String {
        match self.rule.in_force_by {
            InForceBy::GrantDate => String::new(),
            by if self.fact_missing.is_none() => format!(" ({}; decided {})", by.describe(), self.on),
            _ => String::new(),
        }
    }

    /// Units are a request field; during "policy finds people" there is none.
    fn facts_units(&self) -> Option<u32> {
        self.units
    }

    fn training<'p>(&self, p: &'p PersonFacts, c: &Conditions) -> Option<&'p TrainingFacts> {
        p.trainings
            .iter()
            .filter(|t| t.certificate && t.completed_on <= self.on)
            .filter(|t| c.training_completed.is_empty() || c.training_completed.contains(&t.programme))
            .max_by_key(|t| t.completed_on)
    }

    /// The person's statutory retirement (date, age); for a woman whose post
    /// type is not known, both readings (worker, cadre).
    fn retirements(&self, p: &PersonFacts) -> Vec<(Date, crate::retirement::RetirementAge)> {
        let posts: &[PostType] = match (p.gender, p.post_type) {
            (Gender::Male, _) => &[PostType::Worker],
            (Gender::Female, Some(PostType::Worker)) => &[PostType::Worker],
            (Gender::Female, Some(PostType::Cadre)) => &[PostType::Cadre],
            (Gender::Female, None) => &[PostType::Worker, PostType::Cadre],
        };
        posts
            .iter()
            .map(|post| {
                let (age, date) = self.cat.retirement(p.birth_date, p.gender, *post);
                (date, age)
            })
            .collect()
    }

    /// The one retirement that decides, or why none does: a woman's unknown
    /// post type only matters when the two readings disagree on `test`.
    pub(super) fn retirement_for(
        &self,
        p: &PersonFacts,
        test: impl Fn(Date) -> bool,
    ) -> Result<(Date, crate::retirement::RetirementAge), String> {
        let all = self.retirements(p);
        let first = all[0];
        if all.iter().all(|(d, _)| test(*d) == test(first.0)) && (all.len() == 1 || !test(first.0)) {
            Ok(first)
        } else {
            Err("post type (worker or cadre) not supplied: a woman's retirement age depends on it here".into())
        }
    }

    fn layoffs(&self, l: &crate::model::LayoffRule, e: &crate::facts::EnterpriseFacts) -> Found {
        let staff = u64::from(e.insured_employees);
        let laid = u64::from(e.layoffs);
        if laid == 0 {
            return (true, "no layoffs (不裁员)".into());
        }
        let Some(target) = self.cat.parameter_on(&l.below_parameter, self.on) else {
            return (false, format!("no value of {} on {}", l.below_parameter, self.on));
        };
        let rate = Share { num: u32::try_from(target.value).unwrap_or(u32::MAX), den: 10_000 };
        let below_target = staff > 0 && rate.greater_than_ratio(laid, staff);
        let small = e.insured_employees <= l.small_max_employees;
        // "放宽至20%": not more than 20 % (国发〔2019〕28号: 放宽至不超过…20%)
        let small_ok =
            small && staff > 0 && laid * u64::from(l.small_max_rate.den) <= u64::from(l.small_max_rate.num) * staff;
        let detail = format!(
            "{laid} laid off of {staff} insured: below the control target {}.{:02}% ({}): {}; \
             small enterprise (≤ {} staff) up to {}: {}",
            target.value / 100,
            target.value % 100,
            l.below_parameter,
            if below_target { "yes" } else { "no" },
            l.small_max_employees,
            l.small_max_rate,
            if small { if small_ok { "yes" } else { "no" } } else { "not small" }
        );
        (below_target || small_ok, detail)
    }
}
