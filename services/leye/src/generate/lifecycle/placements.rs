//! The placement half of a person's plan: the kind of placement, its dates
//! and contract, the subsidies that follow it, and grants (shared with
//! training).

use super::*;

impl Planner<'_> {
    /// A subsidy granted on `on` (skipped after the window); 2 % revoked later.
    pub(super) fn grant(
        &mut self,
        on: Date,
        programme: &str,
        clause: &str,
        yuan: i64,
        period: (Date, Date),
        payee: Payee,
    ) {
        if on > self.end {
            return;
        }
        let (Ok(amount), Ok(period)) = (Fen::positive(yuan * 100), DateRange::new(period.0, period.1)) else {
            return;
        };
        self.subsidies += 1;
        let subsidy_id = format!("S{}-{}", self.spell, self.subsidies);
        // Proposed by the community's caseworker, approved by the street's
        // supervisor (separation of duties). Synthetic programmes: the decider
        // is asked, the policy catalogue is not.
        let grant = SubsidyGrant {
            subsidy_id: subsidy_id.clone(),
            programme: programme.to_string(),
            amount,
            period,
            payee,
            policy_clause: clause.to_string(),
        };
        let proposal = SubsidyProposal {
            grant,
            rule_id: format!("generated.{programme}"),
            rule_valid_from: on,
            proposed_by: caseworker(self.place),
            reasons: Vec::new(),
            inputs: Default::default(),
        };
        self.push(on, order::PROPOSE, PersonCommand::ProposeSubsidy(proposal));
        let reviewer = Reviewer { user: supervisor(self.place), supervisor: true };
        let approval = ApproveProposal { proposal_id: subsidy_id.clone(), reviewer };
        self.push(on, order::APPROVE, PersonCommand::ApproveSubsidy(approval));
        if self.rng.random_bool(0.02) {
            let revoked = plus_days(on, self.rng.random_range(20..=150));
            if revoked <= self.end {
                let reason = choose(
                    &mut self.rng,
                    &[("材料不实，依规追回", 1.0), ("重复享受，依规追回", 1.0), ("未满补贴期离职，依规追回", 1.0)],
                );
                let revocation = SubsidyRevocation { subsidy_id, reason: reason.to_string() };
                self.push(revoked, order::REVOKE, PersonCommand::RevokeSubsidy(revocation));
            }
        }
    }

    pub(super) fn placement_kind(&mut self, p: Date) -> PlacementKind {
        use PlacementKind as K;
        let zero_head = self.zero_employment() && self.m.relation == HouseholdRelation::Head && self.spell == 1;
        let after_malanhua = self.malanhua.as_ref().is_some_and(|(c, _)| *c <= p && p <= plus_months(*c, 6));
        let kind = if zero_head {
            choose(&mut self.rng, &[(K::PublicWelfarePost, 0.6), (K::CommunityServicePost, 0.2), (K::Enterprise, 0.2)])
        } else if after_malanhua {
            choose(
                &mut self.rng,
                &[(K::StartUp, 0.40), (K::SelfEmployed, 0.25), (K::Enterprise, 0.25), (K::Flexible, 0.10)],
            )
        } else if self.m.recent_graduate && self.spell == 1 {
            choose(
                &mut self.rng,
                &[
                    (K::Enterprise, 0.66),
                    (K::Internship, 0.14),
                    (K::Flexible, 0.10),
                    (K::StartUp, 0.04),
                    (K::SelfEmployed, 0.03),
                    (K::CommunityServicePost, 0.03),
                ],
            )
        } else if self.difficulty {
            choose(
                &mut self.rng,
                &[
                    (K::Enterprise, 0.40),
                    (K::PublicWelfarePost, 0.25),
                    (K::CommunityServicePost, 0.13),
                    (K::Flexible, 0.17),
                    (K::SelfEmployed, 0.05),
                ],
            )
        } else {
            choose(
                &mut self.rng,
                &[
                    (K::Enterprise, 0.62),
                    (K::Flexible, 0.20),
                    (K::SelfEmployed, 0.08),
                    (K::StartUp, 0.02),
                    (K::PublicWelfarePost, 0.03),
                    (K::CommunityServicePost, 0.05),
                ],
            )
        };
        // Public-welfare posts go mostly to local hukou, and at most twice (002 #38).
        if kind == K::PublicWelfarePost
            && (self.public_welfare_posts >= 2 || (!self.local() && self.rng.random_bool(0.9)))
        {
            return K::CommunityServicePost;
        }
        kind
    }

    /// Placement on `p` of the spell registered on `r`, what follows it while
    /// it lasts, and its end. Returns the day the person is free again, if the
    /// (last) placement ends in the window.
    pub(super) fn placement(&mut self, r: Date, mut p: Date) -> anyhow::Result<Option<Date>> {
        use PlacementKind as K;
        let mut kind = self.placement_kind(p);
        let district = self.district_code();
        let employer = match kind {
            K::Enterprise | K::Internship => {
                let d = if self.rng.random_bool(0.85) {
                    district
                } else {
                    self.places.districts[self.places.pick_district(&mut self.rng) as usize].code
                };
                Some(employer_code("91", d, self.rng.random_range(0..400)))
            }
            K::PublicWelfarePost => Some(employer_code("12", district, u32::from(self.place.street))),
            K::CommunityServicePost => Some(employer_code("52", district, self.rng.random_range(0..50))),
            K::SelfEmployed => {
                self.rng.random_bool(0.6).then(|| employer_code("92", district, 1000 + self.index as u32))
            }
            K::StartUp => Some(employer_code("91", district, 1_000_000 + self.index as u32)),
            K::Flexible => None,
        };
        let mut contract_months = self.contract_months(kind);
        loop {
            let placement = Placement { kind, employer: employer.clone(), contract_months };
            self.push(p, order::PLACE, PersonCommand::RecordPlacement(placement));
            if kind == K::PublicWelfarePost {
                self.public_welfare_posts += 1;
            }
            let planned_end = match kind {
                K::Internship => contract_months.map(|m| plus_months(p, m)),
                K::PublicWelfarePost | K::CommunityServicePost => {
                    contract_months.filter(|_| self.rng.random_bool(0.7)).map(|m| plus_months(p, m))
                }
                K::Enterprise => self.rng.random_bool(0.35).then(|| plus_days(p, self.rng.random_range(60..=540))),
                K::Flexible => self.rng.random_bool(0.45).then(|| plus_days(p, self.rng.random_range(60..=450))),
                K::SelfEmployed | K::StartUp => {
                    self.rng.random_bool(0.25).then(|| plus_days(p, self.rng.random_range(120..=600)))
                }
            };
            let ended = planned_end.filter(|q| *q <= self.end);
            let last_employed = ended.unwrap_or(self.end);

            if self.rng.random_bool(0.35) {
                self.contact(p, ContactChannel::Phone, ContactOutcome::FoundWork, "确认已就业");
            }
            // 稳岗回访: monthly for half a year, then every other month.
            let mut k = 1;
            loop {
                let t = plus_months(p, if k <= 6 { k } else { 6 + 2 * (k - 6) });
                if t > last_employed {
                    break;
                }
                if self.rng.random_bool(if k <= 6 { 0.85 } else { 0.75 }) {
                    let on = plus_days(t, self.rng.random_range(0..=5)).min(last_employed);
                    let outcome =
                        if self.rng.random_bool(0.9) { ContactOutcome::FoundWork } else { ContactOutcome::NotReached };
                    self.contact(on, ContactChannel::Phone, outcome, "就业后稳岗回访");
                }
                k += 1;
            }
            self.placement_subsidies(r, p, kind, employer.as_ref(), contract_months, ended);

            let Some(q) = ended else { return Ok(None) };
            let reason = match kind {
                K::Internship => PlacementEndReason::ContractExpired,
                K::PublicWelfarePost | K::CommunityServicePost => PlacementEndReason::PostEnded,
                K::SelfEmployed | K::StartUp => PlacementEndReason::BusinessClosed,
                K::Flexible => {
                    choose(&mut self.rng, &[(PlacementEndReason::Resigned, 0.5), (PlacementEndReason::Other, 0.5)])
                }
                K::Enterprise => choose(
                    &mut self.rng,
                    &[
                        (PlacementEndReason::ContractExpired, 0.35),
                        (PlacementEndReason::Resigned, 0.35),
                        (PlacementEndReason::Dismissed, 0.15),
                        (PlacementEndReason::EmployerClosed, 0.15),
                    ],
                ),
            };
            self.push(q, order::END_PLACEMENT, PersonCommand::EndPlacement(PlacementEnd { reason }));
            // Half of the interns are kept on by their host (a day or more later).
            let kept = plus_days(q, self.rng.random_range(1..=5));
            if kind == K::Internship && kept <= self.end && self.rng.random_bool(0.5) {
                p = kept;
                kind = K::Enterprise;
                contract_months = self.contract_months(kind).or(Some(12));
                continue;
            }
            return Ok(Some(q));
        }
    }

    pub(super) fn contract_months(&mut self, kind: PlacementKind) -> Option<u32> {
        use PlacementKind as K;
        match kind {
            K::Enterprise => choose(&mut self.rng, &[(Some(12), 0.3), (Some(24), 0.2), (Some(36), 0.3), (None, 0.2)]),
            K::Internship => Some(choose(&mut self.rng, &[(3, 0.3), (6, 0.5), (12, 0.2)])),
            K::PublicWelfarePost => Some(choose(&mut self.rng, &[(12, 0.4), (24, 0.3), (36, 0.3)])),
            K::CommunityServicePost => Some(choose(&mut self.rng, &[(12, 0.6), (24, 0.4)])),
            K::Flexible | K::SelfEmployed | K::StartUp => None,
        }
    }

    /// The subsidies a placement brings, by kind, person and district.
    pub(super) fn placement_subsidies(
        &mut self,
        r: Date,
        p: Date,
        kind: PlacementKind,
        employer: Option<&CreditCode>,
        contract_months: Option<u32>,
        ended: Option<Date>,
    ) {
        use PlacementKind as K;
        let end = self.end;
        let still_on = |d: Date| d <= end && ended.is_none_or(|q| d < q);
        let year = |from: Date| (from, plus_months(from, 12).pred_opt().unwrap_or(from));
        let unemployed_half_year = (p - r).num_days() >= 182;
        let recent_graduate =
            self.m.graduation.as_ref().is_some_and(|g| self.m.recent_graduate && p.year() - g.year <= 2);
        let district = self.district_code();
        let to_employer = employer.cloned().map(Payee::Enterprise);
        let long_contract = contract_months.is_some_and(|m| m >= 12);

        if matches!(kind, K::Flexible | K::SelfEmployed)
            && (recent_graduate || self.difficulty)
            && self.rng.random_bool(0.7)
        {
            let on = plus_days(p, self.rng.random_range(30..=60));
            let monthly = if recent_graduate {
                667
            } else if self.special {
                750
            } else {
                500
            };
            if still_on(on) {
                self.grant(on, "flexible-employment-insurance", "002#36", 12 * monthly, year(p), Payee::Person);
            }
        }
        if let (K::Enterprise, Some(payee)) = (kind, to_employer.clone()) {
            if self.difficulty && self.rng.random_bool(0.6) {
                let on = plus_days(p, self.rng.random_range(90..=120));
                if still_on(on) {
                    self.grant(on, "enterprise-social-insurance", "002#33", 12 * 1100, year(p), payee.clone());
                }
            }
            let clause = match district {
                "120111" if unemployed_half_year || self.m.traits.migrant_worker || recent_graduate => Some("000#9"),
                "120101" if recent_graduate || self.m.traits.rural_labour => Some("004#10"),
                _ => None,
            };
            if let Some(clause) = clause.filter(|_| long_contract && self.rng.random_bool(0.8)) {
                let on = plus_days(p, self.rng.random_range(60..=120));
                if still_on(on) {
                    self.grant(on, "hiring-subsidy", clause, 1000, (p, p), payee.clone());
                }
            }
            if district == "120111" && self.hh.hukou.as_str() == "120111" && long_contract && self.rng.random_bool(0.85)
            {
                let on = plus_days(plus_months(p, 6), self.rng.random_range(0..=30));
                let t = self.m.traits;
                let age = self.age_on(p);
                let hard = t.veteran
                    || t.disabled
                    || t.relocated_farmer
                    || t.poor_village
                    || t.military_spouse
                    || age >= if self.female() { 40 } else { 50 };
                if still_on(on) {
                    let yuan = if hard { 3400 } else { 2400 };
                    self.grant(on, "xiqing-local-hiring", "000#9", yuan, (p, plus_months(p, 6)), payee);
                }
            }
        }
        if let (K::PublicWelfarePost | K::CommunityServicePost, Some(payee)) = (kind, to_employer.clone()) {
            let (programme, clause, monthly) = if kind == K::PublicWelfarePost {
                ("public-welfare-post", "002#38", 2320)
            } else {
                ("community-service-post", "002#37", 1000)
            };
            for y in 0..3 {
                let from = plus_months(p, 12 * y);
                let on = plus_days(from, self.rng.random_range(20..=45));
                if !still_on(on) {
                    break;
                }
                self.grant(on, programme, clause, 12 * monthly, year(from), payee.clone());
            }
        }
        if let (K::Internship, Some(payee), Some(q), Some(months)) = (kind, to_employer, ended, contract_months) {
            let on = plus_days(q, self.rng.random_range(10..=30));
            self.grant(on, "internship-allowance", "002#28", i64::from(months) * 1856, (p, q), payee);
        }
        if kind == K::StartUp && (unemployed_half_year || self.m.traits.returning_founder) {
            let on = plus_days(plus_months(p, 12), self.rng.random_range(0..=30));
            if still_on(on) {
                self.grant(on, "startup-subsidy", "002#43", 3000, year(p), Payee::Person);
            }
        }
        let after_malanhua = self.malanhua.clone().filter(|(c, _)| *c <= p && p <= plus_months(*c, 6));
        if let (K::StartUp | K::SelfEmployed, Some((_, provider))) = (kind, after_malanhua) {
            let on = plus_days(p, self.rng.random_range(30..=60));
            self.grant(on, "startup-training-success", "002#40", 1000, (p, p), Payee::TrainingProvider(provider));
        }
    }
}
